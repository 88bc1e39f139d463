package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A packet sniffer in a host's network namespace (AF_PACKET, all
// interfaces, kernel timestamps, a BPF filter keeping only RARP and
// ICMP): it shows when QEMU's RARP left the VM's tap on the destination,
// when the first echo request after the switchover was handed to the
// VM's tap (the network is through) and when the VM answered. With that
// the outage splits into the network's part and the guest's.

type pkt struct {
	At      time.Time
	Ifindex int
	Out     bool   // PACKET_OUTGOING: sent out of Ifindex (into the VM, for its tap)
	Kind    string // rarp, req (to the VM), rep (from the VM)
	Seq     int
}

type sniffer struct {
	fd   int
	mu   sync.Mutex
	pkts []pkt
	mac  net.HardwareAddr // the VM's
	done chan struct{}
}

// ETH_P_ALL in network byte order.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// bpfRARPorICMP: ldh [12]; RARP -> keep; IPv4 and ip proto 1 -> keep; else drop.
var bpfRARPorICMP = []unix.SockFilter{
	{Code: 0x28, K: 12},                   // ldh [12]
	{Code: 0x15, Jt: 3, Jf: 0, K: 0x8035}, // RARP -> 5
	{Code: 0x15, Jt: 0, Jf: 3, K: 0x0800}, // not IPv4 -> 6
	{Code: 0x30, K: 23},                   // ldb [23] (IP protocol)
	{Code: 0x15, Jt: 0, Jf: 1, K: 1},      // not ICMP -> 6
	{Code: 0x06, K: 96},                   // ret 96 (headers are enough)
	{Code: 0x06, K: 0},                    // ret 0
}

// startSniffer opens the socket inside netns (the socket stays there when
// the thread goes back).
func startSniffer(netns string, mac string) (*sniffer, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, err
	}
	s := &sniffer{mac: hw, done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left to die (not unlocked) if it could not
		// return to its namespace.
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer own.Close()
		target, err := os.Open("/run/netns/" + netns)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", netns, err)
			return
		}
		fd, serr := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			if serr == nil {
				unix.Close(fd)
			}
			errc <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		if serr != nil {
			errc <- serr
			return
		}
		s.fd = fd
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	prog := unix.SockFprog{Len: uint16(len(bpfRARPorICMP)), Filter: &bpfRARPorICMP[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		unix.Close(s.fd)
		return nil, fmt.Errorf("SO_ATTACH_FILTER: %w", err)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(s.fd)
		return nil, err
	}
	// Room for a few seconds of packets: at the switchover this program
	// may get little CPU (2 cores, a TCG guest, QEMU, OVS, OVN).
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20); err != nil {
		unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<20)
	}
	s.drops() // from before the filter
	go s.read()
	return s, nil
}

func (s *sniffer) read() {
	defer close(s.done)
	buf := make([]byte, 512)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := unix.Recvmsg(s.fd, buf, oob, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		at := time.Now()
		if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, c := range cms {
				if c.Header.Level == unix.SOL_SOCKET && c.Header.Type == unix.SO_TIMESTAMPNS && len(c.Data) >= 16 {
					sec := int64(binary.NativeEndian.Uint64(c.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(c.Data[8:16]))
					at = time.Unix(sec, nsec)
				}
			}
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || n < 14 {
			continue
		}
		f := buf[:n]
		dst, src := net.HardwareAddr(f[0:6]), net.HardwareAddr(f[6:12])
		et := binary.BigEndian.Uint16(f[12:14])
		p := pkt{At: at, Ifindex: ll.Ifindex, Out: ll.Pkttype == unix.PACKET_OUTGOING}
		switch {
		case et == 0x8035 && bytes.Equal(src, s.mac):
			p.Kind = "rarp"
		case et == 0x0800 && n >= 14+20+8:
			ihl := int(f[14]&0x0f) * 4
			if n < 14+ihl+8 {
				continue
			}
			icmp := f[14+ihl:]
			p.Seq = int(binary.BigEndian.Uint16(icmp[6:8]))
			switch {
			case icmp[0] == 8 && bytes.Equal(dst, s.mac):
				p.Kind = "req"
			case icmp[0] == 0 && bytes.Equal(src, s.mac):
				p.Kind = "rep"
			default:
				continue
			}
		default:
			continue
		}
		s.mu.Lock()
		s.pkts = append(s.pkts, p)
		s.mu.Unlock()
	}
}

// drops returns the packets the kernel dropped for lack of room since the
// last call.
func (s *sniffer) drops() int {
	st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return -1
	}
	return int(st.Drops)
}

func (s *sniffer) close() {
	unix.Shutdown(s.fd, unix.SHUT_RDWR)
	unix.Close(s.fd)
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
}

// tapTimes: on the host this sniffer watches, after since: the first RARP
// of the VM coming in from an interface (QEMU writing it into its tap: that
// interface is the VM's tap; OVS's copies of the broadcast go out of other
// interfaces); the echo requests sent out of that tap (into the VM) before
// it (early: activation-strategy=rarp should hold them back), the first
// one after it, and the VM's first reply after that one.
func (s *sniffer) tapTimes(since time.Time) (tap int, rarp, req, rep, firstEarly time.Time, nRARP, early int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tap = -1
	for _, p := range s.pkts {
		if p.At.Before(since) || p.Kind != "rarp" || p.Out {
			continue
		}
		if tap < 0 {
			tap, rarp = p.Ifindex, p.At
		}
		if p.Ifindex == tap {
			nRARP++
		}
	}
	if tap < 0 {
		return
	}
	// Replies the source left in the virtio TX ring go out of the new tap
	// at the resume, before any request came in: the first reply counted
	// is the first after the first request.
	for _, p := range s.pkts {
		if p.Ifindex != tap || p.At.Before(since) {
			continue
		}
		switch {
		case p.Kind == "req" && p.Out && p.At.Before(rarp):
			if early == 0 {
				firstEarly = p.At
			}
			early++
		case p.Kind == "req" && p.Out && req.IsZero():
			req = p.At
		case p.Kind == "rep" && !p.Out && rep.IsZero() && !req.IsZero():
			rep = p.At
		}
	}
	return
}
