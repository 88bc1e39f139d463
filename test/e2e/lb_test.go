package e2e

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveAnswer answers every TCP connection to port (IPv4) with answer.
func serveAnswer(t *testing.T, nsPath string, port int, answer string) {
	t.Helper()
	var l net.Listener
	if err := inNS(nsPath, func() (err error) { l, err = net.Listen("tcp4", ":"+strconv.Itoa(port)); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(answer))
			c.Close()
		}
	}()
}

// fetch connects from nsPath to addr:port and reads the answer.
func fetch(nsPath, addr string, port int) (string, error) {
	var c net.Conn
	err := inNS(nsPath, func() (err error) {
		c, err = net.DialTimeout("tcp4", net.JoinHostPort(addr, strconv.Itoa(port)), 2*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// answers are the answers of n connections through the VIP.
func answers(nsPath, vip string, n int) map[string]int {
	got := map[string]int{}
	for range n {
		a, err := fetch(nsPath, vip, 80)
		if err != nil {
			a = "error"
		}
		got[a]++
	}
	return got
}

// TestLoadBalancer: two container members serving distinct answers are
// both reached through the VIP from a client on the network; a disabled
// member gets no connection; deleting the load balancer leaves no row.
func TestLoadBalancer(t *testing.T) {
	e := newSGEnv(t, "e2e-lb", "10.215.0.0/24", "fd00:215::/64")
	m1, m2, cli := e.container("lb-m1"), e.container("lb-m2"), e.container("lb-cli")
	serveAnswer(t, m1.ns, 8080, "m1")
	serveAnswer(t, m2.ns, 8080, "m2")
	d := e.d
	d.MustQnetctl("lb", "create", "web", "--network", e.net, "--vip", "10.215.0.100")
	t.Cleanup(func() { d.Qnetctl("lb", "delete", "web") })
	d.MustQnetctl("lb", "listener", "add", "web", "80", "--member-port", "8080")
	d.MustQnetctl("lb", "member", "add", "web", m1.port)
	d.MustQnetctl("lb", "member", "add", "web", m2.port)
	eventually(t, "both members through the VIP", func() error {
		got := answers(cli.ns, "10.215.0.100", 20)
		if got["m1"] == 0 || got["m2"] == 0 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	d.MustQnetctl("lb", "member", "disable", "web", m2.port)
	eventually(t, "only m1 once m2 is disabled", func() error {
		if got := answers(cli.ns, "10.215.0.100", 20); got["m1"] != 20 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	out := d.MustQnetctl("lb", "show", "web")
	if !strings.Contains(out, m2.port+" disabled") {
		t.Fatalf("lb show:\n%s", out)
	}
	d.MustQnetctl("lb", "delete", "web")
	if out, _ := d.Qnetctl("lb", "list"); strings.Contains(out, "web") {
		t.Fatalf("lb list after delete:\n%s", out)
	}
}

// TestLoadBalancerHealth: with a health check, a member whose server
// stops is shown offline and gets no connection, and is back when it
// serves again; the gateway stays reachable.
func TestLoadBalancerHealth(t *testing.T) {
	e := newSGEnv(t, "e2e-lbh", "10.216.0.0/24", "fd00:216::/64")
	m1, m2, cli := e.container("lbh-m1"), e.container("lbh-m2"), e.container("lbh-cli")
	serveAnswer(t, m2.ns, 8080, "m2")
	var l net.Listener
	if err := inNS(m1.ns, func() (err error) { l, err = net.Listen("tcp4", ":8080"); return err }); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("m1"))
			c.Close()
		}
	}()
	d := e.d
	d.MustQnetctl("lb", "create", "web2", "--network", e.net, "--vip", "10.216.0.100")
	t.Cleanup(func() { d.Qnetctl("lb", "delete", "web2") })
	d.MustQnetctl("lb", "listener", "add", "web2", "80", "--member-port", "8080")
	d.MustQnetctl("lb", "member", "add", "web2", m1.port)
	d.MustQnetctl("lb", "member", "add", "web2", m2.port)
	d.MustQnetctl("lb", "health-check", "set", "web2", "--interval", "1", "--timeout", "1", "--success", "1", "--failure", "2")
	eventually(t, "both members online", func() error {
		if out := d.MustQnetctl("lb", "show", "web2"); strings.Count(out, "enabled online") != 2 {
			return fmt.Errorf("lb show:\n%s", out)
		}
		return nil
	})
	l.Close()
	eventually(t, "m1 offline and out of rotation", func() error {
		out := d.MustQnetctl("lb", "show", "web2")
		if !strings.Contains(out, m1.port+" enabled offline") {
			return fmt.Errorf("lb show:\n%s", out)
		}
		if got := answers(cli.ns, "10.216.0.100", 10); got["m2"] != 10 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	if err := pingOnce(cli.ns, "10.216.0.1"); err != nil {
		t.Fatalf("the gateway after health checks: %v", err)
	}
	serveAnswer(t, m1.ns, 8080, "m1")
	eventually(t, "m1 back online and in rotation", func() error {
		if out := d.MustQnetctl("lb", "show", "web2"); !strings.Contains(out, m1.port+" enabled online") {
			return fmt.Errorf("lb show:\n%s", out)
		}
		if got := answers(cli.ns, "10.216.0.100", 20); got["m1"] == 0 || got["m2"] == 0 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
}
