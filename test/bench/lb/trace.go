package main

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// What a failover trial traces besides the client's connections, to say
// where the time goes: when ovn-controller's health probes reach the dead
// member (probeSniffer), and when the datapath's OpenFlow groups stop
// sending new connections to it (flowsWithout).

// probeSniffer records when health probes reach a member: TCP SYNs (no
// ACK) to mbrPort from anyone but the client, seen on an AF_PACKET socket
// in the member's namespace, before its iptables drops them.
type probeSniffer struct {
	stop   chan struct{} // close: the reader closes the socket and returns
	done   chan struct{}
	mu     sync.Mutex
	times  []time.Time
	client [4]byte
	first  map[uint16]time.Time // the client's connections: source port -> first SYN seen here
}

// sniffProbes starts recording the probes that reach the member in ns.
func sniffProbes(ns, clientIP string) (*probeSniffer, error) {
	s := &probeSniffer{stop: make(chan struct{}), done: make(chan struct{}), first: map[uint16]time.Time{}}
	if n, err := fmt.Sscanf(clientIP, "%d.%d.%d.%d", &s.client[0], &s.client[1], &s.client[2], &s.client[3]); n != 4 || err != nil {
		return nil, fmt.Errorf("client address %q: %v", clientIP, err)
	}
	const ethPIP = 0x0800
	fd := -1
	err := harness.InNS(harness.NsPath(ns), func() (err error) {
		fd, err = syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(ethPIP)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("packet socket in %s: %w", ns, err)
	}
	// A read timeout, so that the reader sees stop promptly.
	tv := syscall.Timeval{Usec: 200000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	go s.read(fd)
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// read records packets until stop; it owns fd (closing it here, not in
// close, keeps a reused descriptor number from being read).
func (s *probeSniffer) read(fd int) {
	defer close(s.done)
	defer syscall.Close(fd)
	buf := make([]byte, 256)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		now := time.Now()
		fromClient, port, ok := syn(buf[:n], s.client)
		s.mu.Lock()
		switch {
		case ok && !fromClient:
			s.times = append(s.times, now)
		case ok:
			if _, seen := s.first[port]; !seen {
				s.first[port] = now
			}
		}
		s.mu.Unlock()
	}
}

// syn: an IPv4 TCP SYN without ACK to mbrPort (ok), whether it is from
// client (else a probe), and its source port.
func syn(p []byte, client [4]byte) (fromClient bool, port uint16, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
		return false, 0, false
	}
	ihl := int(p[0]&0x0f) * 4
	if len(p) < ihl+14 {
		return false, 0, false
	}
	tcp := p[ihl:]
	flags := tcp[13]
	ok = binary.BigEndian.Uint16(tcp[2:4]) == mbrPort && flags&0x02 != 0 && flags&0x10 == 0
	return [4]byte(p[12:16]) == client, binary.BigEndian.Uint16(tcp[0:2]), ok
}

// newConns are the client's connections whose first SYN reached the
// member from t on, as offsets from t.
func (s *probeSniffer) newConns(t time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, f := range s.first {
		if !f.Before(t) {
			out = append(out, f.Sub(t))
		}
	}
	slices.Sort(out)
	return out
}

// probes are the probes seen, as offsets from t (before t: negative).
func (s *probeSniffer) probes(t time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, p := range s.times {
		out = append(out, p.Sub(t))
	}
	return out
}

// close stops the reader and waits for it (once).
func (s *probeSniffer) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// flowsWithout reports whether br-int's OpenFlow groups (the load
// balancer's backends: ct(...nat(dst=IP:PORT))) hold backends but no
// longer ip:mbrPort; false if they cannot be read.
func (b *bench) flowsWithout(ip string) bool {
	out, err := exec.Command("ovs-ofctl", "-O", "OpenFlow15", "dump-groups", "unix:"+filepath.Join(b.Sbx.Dir, "br-int.mgmt")).CombinedOutput()
	groups := string(out)
	return err == nil && strings.Contains(groups, "nat(dst=") && !strings.Contains(groups, fmt.Sprintf("dst=%s:%d", ip, mbrPort))
}

// durations formats offsets as "+1.23s +3.45s".
func durations(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%+.2fs", d.Seconds()))
	}
	return strings.Join(out, " ")
}
