package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// Real TCP and UDP traffic between network namespaces, from this process:
// a socket made while the thread is in a namespace stays in it.

// inNS runs f with the calling thread in the network namespace at path.
func inNS(path string, f func() error) error { return harness.InNS(path, f) }

// serveTCP runs a line echo server on port (both families) in a namespace
// until the test ends.
func serveTCP(t *testing.T, nsPath string, port int) {
	t.Helper()
	for _, network := range []string{"tcp4", "tcp6"} {
		l, err := harness.ListenTCP(nsPath, network, port)
		if err != nil {
			t.Fatalf("listen %s %d in %s: %v", network, port, harness.NsName(nsPath), err)
		}
		t.Cleanup(func() { l.Close() })
		go harness.AcceptLoop(l, func(c net.Conn) { go func() { defer c.Close(); io.Copy(c, c) }() })
	}
}

// serveUDP runs a datagram echo server on port (both families) in a namespace.
func serveUDP(t *testing.T, nsPath string, port int) {
	t.Helper()
	for _, network := range []string{"udp4", "udp6"} {
		var pc net.PacketConn
		if err := inNS(nsPath, func() (err error) { pc, err = net.ListenPacket(network, ":"+strconv.Itoa(port)); return err }); err != nil {
			t.Fatalf("listen %s %d in %s: %v", network, port, harness.NsName(nsPath), err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 1500)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
	}
}

// errTimeout: no answer at all (dropped), as opposed to a refusal.
var errTimeout = harness.ErrNoAnswer

// tcpConn is an open connection to an echo server.
type tcpConn struct {
	c net.Conn
	r *bufio.Reader
}

// dialTCP connects from a namespace (1 s) and checks one echo.
func dialTCP(nsPath, addr string, port int) (*tcpConn, error) {
	return dialTCPWithin(nsPath, addr, port, time.Second)
}

func dialTCPWithin(nsPath, addr string, port int, timeout time.Duration) (*tcpConn, error) {
	var c net.Conn
	err := inNS(nsPath, func() (err error) {
		c, err = net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), timeout)
		return err
	})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("tcp %s port %d: %w", addr, port, errTimeout)
		}
		return nil, err
	}
	tc := &tcpConn{c: c, r: bufio.NewReader(c)}
	if err := tc.echo("hello"); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// echo sends a line and waits (1 s) for it to come back.
func (tc *tcpConn) echo(s string) error {
	tc.c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(tc.c, s+"\n"); err != nil {
		return err
	}
	line, err := tc.r.ReadString('\n')
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("echo on %s: %w", tc.c.RemoteAddr(), errTimeout)
		}
		return err
	}
	if line != s+"\n" {
		return fmt.Errorf("echo on %s: got %q", tc.c.RemoteAddr(), line)
	}
	return nil
}

// tcpOK connects, checks an echo and closes.
func tcpOK(nsPath, addr string, port int) error {
	return tcpOKWithin(nsPath, addr, port, time.Second)
}

// tcpQuick is tcpOK with a 200 ms connect timeout, for polling how soon a
// change takes effect (a dropped SYN is retransmitted only after 1 s).
func tcpQuick(nsPath, addr string, port int) error {
	return tcpOKWithin(nsPath, addr, port, 200*time.Millisecond)
}

func tcpOKWithin(nsPath, addr string, port int, timeout time.Duration) error {
	c, err := dialTCPWithin(nsPath, addr, port, timeout)
	if err != nil {
		return err
	}
	c.c.Close()
	return nil
}

// udpEcho sends datagrams from a namespace until one comes back (3 tries
// in about 1 s); errTimeout if none does.
func udpEcho(nsPath, addr string, port int) error {
	var c net.Conn
	if err := inNS(nsPath, func() (err error) { c, err = net.Dial("udp", net.JoinHostPort(addr, strconv.Itoa(port))); return err }); err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64)
	for range 3 {
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(350 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return nil
		}
	}
	return fmt.Errorf("udp %s port %d: %w", addr, port, errTimeout)
}

// pingOnce is one echo request with a 1 s wait; its error wraps errTimeout.
var pingOnce = harness.PingOnce

// eventually retries f for up to 10 s and returns how long it took to
// succeed (the caller logs it: how fast a change took effect).
var eventually = harness.Within10s

// blocked asserts that f fails with no answer at all.
func blocked(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got through, want it dropped", what)
	}
	if !errors.Is(err, errTimeout) {
		t.Fatalf("%s: %v, want a timeout (dropped)", what, err)
	}
}

// allowed asserts that f succeeded.
func allowed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// execIn runs a command in a namespace.
func execIn(nsPath string, name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", harness.NsName(nsPath), name}, args...)...).CombinedOutput()
	return string(out), err
}

func execCommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
