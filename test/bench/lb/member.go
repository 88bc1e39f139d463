package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// member is a container behind the load balancer, serving its word on
// mbrPort: it reads one request line and answers the word, then closes.
type member struct {
	word, ns, ip, port string
	mu                 sync.Mutex
	l                  net.Listener
}

// start listens on mbrPort in the member's namespace.
func (m *member) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := harness.ListenTCP(m.ns, "tcp4", mbrPort)
	if err != nil {
		return fmt.Errorf("member %s: %w", m.word, err)
	}
	m.l = l
	go harness.AcceptLoop(l, func(c net.Conn) {
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				c.Write([]byte(m.word))
			}
		}()
	})
	return nil
}

// stop kills the server: new connections to it are refused.
func (m *member) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.l != nil {
		m.l.Close()
		m.l = nil
	}
}

// kill makes the member's service die the way death says: "refuse" closes
// the listener (new connections are refused at once, the probes get a
// RST), "silent" drops its packets (an iptables DROP in the member: the
// probes time out, as for a hung or unplugged machine).
func (m *member) kill(death string) error {
	if death == "silent" {
		return m.iptables("-I")
	}
	m.stop()
	return nil
}

// revive undoes kill.
func (m *member) revive(death string) error {
	if death == "silent" {
		return m.iptables("-D")
	}
	return m.start()
}

func (m *member) iptables(op string) error {
	out, err := exec.Command("ip", "netns", "exec", m.ns, "iptables", op, "INPUT", "-p", "tcp", "--dport", strconv.Itoa(mbrPort), "-j", "DROP").CombinedOutput()
	if err != nil {
		return fmt.Errorf("member %s: iptables %s: %v %s", m.word, op, err, out)
	}
	return nil
}

// request opens a TCP connection from namespace ns to addr:port, sends one
// request line and reads the answer; took is connect() until the answer is
// in (the connection setup and one request/response).
func request(ns, addr string, port int) (answer string, took time.Duration, err error) {
	err = harness.InNS(harness.NsPath(ns), func() error {
		start := time.Now()
		// 3 s: a lost SYN is retransmitted after 1 s (slow, not failed).
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(addr, strconv.Itoa(port)), 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("GET\n")); err != nil {
			return err
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if n == 0 {
			return fmt.Errorf("no answer: %v", err)
		}
		took, answer = time.Since(start), string(buf[:n])
		return nil
	})
	return answer, took, err
}
