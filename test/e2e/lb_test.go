package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/test/harness"
)

// The load balancer world: network blue with three members and a client,
// network red routed to blue by a router, with a client.
const (
	lbBlue, lbBlue4 = "e2e-lb", "10.215.0.0/24"
	lbRed, lbRed4   = "e2e-lbr", "10.216.0.0/24"
	lbRouter        = "e2e-lbrt"
	lbVIP, lbVIPUDP = "10.215.0.100", "10.215.0.101"
	lbTCP, lbUDP    = "web", "webu"
	memberPort      = 8080 // the members' TCP port (the TCP listener is 80)
	udpPort         = 9000 // the UDP listener's and the members' port
	lbConns         = 200
)

// lbMember is a container behind the load balancers: a TCP server
// answering its word on memberPort, which the test stops and starts, and
// a UDP server answering its word on udpPort.
type lbMember struct {
	ctr
	word string
	mu   sync.Mutex
	l    net.Listener
	udp  net.PacketConn
}

// start serves TCP: every connection gets the word, then is closed.
func (m *lbMember) start(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := harness.ListenTCP(m.ns, "tcp4", memberPort)
	if err != nil {
		t.Fatalf("member %s: %v", m.word, err)
	}
	m.l = l
	go harness.AcceptLoop(l, func(c net.Conn) {
		c.Write([]byte(m.word))
		c.Close()
	})
}

// stop kills the TCP server: new connections are refused.
func (m *lbMember) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.l != nil {
		m.l.Close()
		m.l = nil
	}
}

// serveUDP answers every datagram on udpPort with the word.
func (m *lbMember) serveUDP(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var pc net.PacketConn
	if err := inNS(m.ns, func() (err error) { pc, err = net.ListenPacket("udp4", ":"+strconv.Itoa(udpPort)); return err }); err != nil {
		t.Fatalf("member %s: %v", m.word, err)
	}
	m.udp = pc
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(m.word), from)
		}
	}()
}

// stopUDP closes the UDP server: the member's kernel answers a datagram
// to udpPort with an ICMP port unreachable.
func (m *lbMember) stopUDP() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.udp != nil {
		m.udp.Close()
		m.udp = nil
	}
}

type lbWorld struct {
	e         *sgEnv
	t         *testing.T // the parent test: cleanups that outlive a subtest
	members   []*lbMember
	blue, red ctr // the clients
}

// newLBWorld builds blue (members, client), red (client) and the router
// between them, and the TCP load balancer web (VIP:80 -> members:8080)
// with the three members.
func newLBWorld(t *testing.T) *lbWorld {
	e := newSGEnv(t, lbBlue, lbBlue4, "fd00:215::/64")
	d := e.d
	d.MustQnetctl("network", "create", lbRed, "--subnet4", lbRed4)
	t.Cleanup(func() { d.Qnetctl("network", "delete", lbRed) })
	d.MustQnetctl("router", "create", lbRouter)
	t.Cleanup(func() { d.Qnetctl("router", "delete", lbRouter) })
	for _, n := range []string{lbBlue, lbRed} {
		d.MustQnetctl("router", "attach", lbRouter, n)
		t.Cleanup(func() { d.Qnetctl("router", "detach", lbRouter, n) })
	}
	red, err := harness.NewCNI(t, env.Bin, harness.ConfList(lbRed+"-cni", lbRed, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	redEnv := &sgEnv{t: t, d: d, net: lbRed, c: red}
	w := &lbWorld{t: t, e: e, blue: e.container("lb-cli"), red: redEnv.container("lb-red")}
	for _, word := range []string{"alpha", "bravo", "charlie"} {
		m := &lbMember{ctr: e.container("lb-" + word), word: word}
		m.start(t)
		t.Cleanup(m.stop)
		m.serveUDP(t)
		t.Cleanup(m.stopUDP)
		w.members = append(w.members, m)
	}
	d.MustQnetctl("lb", "create", lbTCP, "--network", lbBlue, "--vip", lbVIP)
	t.Cleanup(func() { d.Qnetctl("lb", "delete", lbTCP) })
	d.MustQnetctl("lb", "listener", "add", lbTCP, "80", "--member-port", strconv.Itoa(memberPort))
	for _, m := range w.members {
		d.MustQnetctl("lb", "member", "add", lbTCP, m.port)
	}
	return w
}

// fetch connects from nsPath to addr:port and reads the answer.
func fetch(nsPath, addr string, port int) (string, error) {
	var c net.Conn
	err := inNS(nsPath, func() (err error) {
		c, err = net.DialTimeout("tcp4", net.JoinHostPort(addr, strconv.Itoa(port)), time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// answers counts the answers of n new connections to vip:80 by word
// ("error: ..." for failed ones); it stops after 3 failures.
func answers(nsPath, vip string, n int) map[string]int {
	got := map[string]int{}
	for i, failed := 0, 0; i < n && failed < 3; i++ {
		a, err := fetch(nsPath, vip, 80)
		if err != nil {
			a = "error: " + err.Error()
		} else if a == "" {
			a = "error: empty answer"
		}
		if strings.HasPrefix(a, "error: ") {
			failed++
		}
		got[a]++
	}
	return got
}

// udpAnswers counts the answers of n datagrams to vip:udpPort, each from a
// new socket (a new source port: a new connection for the load balancer).
func udpAnswers(nsPath, vip string, n int) map[string]int {
	got := map[string]int{}
	for i, failed := 0, 0; i < n && failed < 3; i++ {
		var c net.Conn
		err := inNS(nsPath, func() (err error) {
			c, err = net.Dial("udp4", net.JoinHostPort(vip, strconv.Itoa(udpPort)))
			return err
		})
		a := ""
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 64)
			var k int
			if _, err = c.Write([]byte("who")); err == nil {
				k, err = c.Read(buf)
			}
			a = string(buf[:k])
			c.Close()
		}
		if err != nil {
			a = "error: " + err.Error()
			failed++
		}
		got[a]++
	}
	return got
}

// served is how many of got's connections a member answered.
func (w *lbWorld) served(got map[string]int) int {
	n := 0
	for _, m := range w.members {
		n += got[m.word]
	}
	return n
}

// spread fails unless every connection was answered and every member
// answered at least one.
func (w *lbWorld) spread(got map[string]int, n int) error {
	for _, m := range w.members {
		if got[m.word] == 0 {
			return fmt.Errorf("member %s got none of %d connections: %v", m.word, n, got)
		}
	}
	if sum := w.served(got); sum != n {
		return fmt.Errorf("%d of %d connections not answered by a member: %v", n-sum, n, got)
	}
	return nil
}

// qn runs qnetctl; a failure fails t (a subtest, not the parent the
// daemon belongs to).
func (w *lbWorld) qn(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.e.d.Qnetctl(args...)
	if err != nil {
		t.Fatalf("qnetctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// show is `qnetctl -o json lb show name`.
func (w *lbWorld) show(t *testing.T, name string) *api.LoadBalancer {
	t.Helper()
	var l api.LoadBalancer
	out := w.qn(t, "-o", "json", "lb", "show", name)
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("lb show %s: %v\n%s", name, err, out)
	}
	return &l
}

// health is the health of the member on port as lb show reports it.
func (w *lbWorld) health(t *testing.T, name, port string) string {
	t.Helper()
	for _, m := range w.show(t, name).Members {
		if m.Port == port {
			return m.Health
		}
	}
	t.Fatalf("lb show %s: no member %s", name, port)
	return ""
}

// TestLoadBalancer: three container members serving distinct answers are
// reached through the VIP from a client on their network and from one on
// a network routed to it; a disabled member gets no connection; with a
// health check, a member whose server stops goes offline in lb show and
// gets no new connection, and comes back when it serves again; a UDP load
// balancer spreads datagrams; deleting the load balancers leaves no row.
// The subtests share one world and run in order.
func TestLoadBalancer(t *testing.T) {
	w := newLBWorld(t)
	t.Run("same network", func(t *testing.T) {
		// Settled: every member answered and no connection failed in a
		// batch (the members' flows are installed as they are added).
		took := eventually(t, "every member answers through the VIP", func() error {
			return w.spread(answers(w.blue.ns, lbVIP, 15), 15)
		})
		t.Logf("every member answered through the VIP %s after the last member was added", took.Round(time.Millisecond))
		got := answers(w.blue.ns, lbVIP, lbConns)
		t.Logf("%d connections from %s: %v", lbConns, lbBlue, got)
		if err := w.spread(got, lbConns); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("disable", func(t *testing.T) { w.disable(t) })
	t.Run("health", func(t *testing.T) { w.healthCheck(t) })
	t.Run("udp", func(t *testing.T) { w.udp(t) })
	t.Run("routed", func(t *testing.T) { w.routed(t) })
	t.Run("delete", func(t *testing.T) { w.delete(t) })
}

// routed: 200 connections from red, routed to blue by the router, reach
// all three members (red's own switch balances them), and blue's clients
// still do afterwards. On failure vswitchd's errors are logged: OVS 3.1's
// userspace conntrack has aborted here (conntrack.c assertion) when red's
// SYN was un-NATed by the router instead.
func (w *lbWorld) routed(t *testing.T) {
	eventually(t, "red reaches a blue member directly (routed)", func() error {
		_, err := fetch(w.red.ns, w.members[0].ip4, memberPort)
		return err
	})
	defer func() {
		if t.Failed() {
			t.Logf("ovs-vswitchd's EMER/ERR log lines (a datapath crash shows here):\n%s", vswitchdErrors())
		}
	}()
	var got map[string]int
	eventually(t, "red reaches the VIP", func() error {
		if got = answers(w.red.ns, lbVIP, 3); w.served(got) == 0 {
			return fmt.Errorf("answers from %s: %v", lbRed, got)
		}
		return nil
	})
	got = answers(w.red.ns, lbVIP, lbConns)
	t.Logf("%d connections from %s (routed): %v", lbConns, lbRed, got)
	if err := w.spread(got, lbConns); err != nil {
		t.Fatal(err)
	}
	// Blue's own clients still get through after the routed ones.
	if err := w.spread(answers(w.blue.ns, lbVIP, 30), 30); err != nil {
		t.Fatalf("from %s after the routed connections: %v", lbBlue, err)
	}
}

// vswitchdErrors are the sandbox ovs-vswitchd's EMER and ERR log lines.
func vswitchdErrors() string {
	b, err := os.ReadFile(filepath.Join(sbx.Dir, "ovs-vswitchd.log"))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "|EMER|") || strings.Contains(l, "|ERR|") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// disable: a disabled member gets no connection and lb show says so;
// enabled again, it gets connections.
func (w *lbWorld) disable(t *testing.T) {
	m := w.members[2]
	w.qn(t, "lb", "member", "disable", lbTCP, m.port)
	eventually(t, m.word+" out of rotation once disabled", func() error {
		if got := answers(w.blue.ns, lbVIP, 30); got["alpha"]+got["bravo"] != 30 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	if out := w.qn(t, "lb", "show", lbTCP); !strings.Contains(out, m.port+" disabled") {
		t.Errorf("lb show after disable:\n%s", out)
	}
	w.qn(t, "lb", "member", "enable", lbTCP, m.port)
	eventually(t, m.word+" back in rotation once enabled", func() error {
		return w.spread(answers(w.blue.ns, lbVIP, 30), 30)
	})
}

// healthLog records the health of every member of a load balancer as lb
// show reports it, one entry per change.
type healthLog struct {
	start   time.Time
	last    map[string]string
	entries []string
	seq     map[string][]string // per member port: its healths, in order
}

// poll reads lb show once and records the changes.
func (h *healthLog) poll(t *testing.T, w *lbWorld, name string) {
	t.Helper()
	for _, m := range w.show(t, name).Members {
		if h.last[m.Port] == m.Health {
			continue
		}
		h.last[m.Port] = m.Health
		h.seq[m.Port] = append(h.seq[m.Port], m.Health)
		h.entries = append(h.entries, fmt.Sprintf("%7.3fs %s %s", time.Since(h.start).Seconds(), w.word(m.Port), m.Health))
	}
}

// until polls lb show every 50 ms until the member on port has health
// want, for at most limit; it returns how long that took.
func (h *healthLog) until(t *testing.T, w *lbWorld, name, port, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		h.poll(t, w, name)
		if h.last[port] == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s not %s after %s (now %q); transitions:\n%s", w.word(port), want, limit, h.last[port], strings.Join(h.entries, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *lbWorld) word(port string) string {
	for _, m := range w.members {
		if m.port == port {
			return m.word
		}
	}
	return port
}

// healthCheck: a health check of interval 1 s, timeout 1 s, success 1,
// failure 2 on the TCP load balancer: alpha's server killed (it refuses
// with a RST), then served again (healthCycle); the members never stopped
// stay online.
func (w *lbWorld) healthCheck(t *testing.T) {
	m := w.members[0]
	h := w.healthCycle(t, lbTCP, m, "server", m.stop, m.start, func(n int) map[string]int { return answers(w.blue.ns, lbVIP, n) })
	// Before its first probe a member is unknown.
	for _, x := range w.members[1:] {
		if s := strings.TrimPrefix(strings.Join(h.seq[x.port], " "), "unknown "); s != "online" {
			t.Errorf("%s (never stopped): healths %q, want online (after unknown)", x.word, s)
		}
	}
	if err := pingOnce(w.blue.ns, "10.215.0.1"); err != nil {
		t.Errorf("the gateway after health checks: %v", err)
	}
}

// healthCycle sets a health check of interval 1 s, timeout 1 s, success
// 1, failure 2 on load balancer name, waits for every member online, then
// stops m's server (what): lb show shows m offline within the bound plus
// slack, and from then on 40 new requests in a row (ask) all reach the
// others; served again, m is online and back in rotation. A stopped server
// refuses (a RST, or the kernel's ICMP port unreachable for UDP): each
// probe fails at once, so the bound is interval + timeout (until the first
// probe after the stop, as test/bench/lb traces ovn-controller's probes)
// plus (failure - 1) intervals; the slack covers Southbound, northd and
// ovn-controller, and keeps the test about behaviour, not speed (the
// figures are test/bench/lb's). It returns lb show's transitions.
func (w *lbWorld) healthCycle(t *testing.T, name string, m *lbMember, what string, stop func(), start func(*testing.T), ask func(n int) map[string]int) *healthLog {
	t.Helper()
	w.qn(t, "lb", "health-check", "set", name, "--interval", "1", "--timeout", "1", "--success", "1", "--failure", "2")
	const bound, slack = 3 * time.Second, 5 * time.Second
	h := &healthLog{start: time.Now(), last: map[string]string{}, seq: map[string][]string{}}
	defer func() {
		t.Logf("lb show %s transitions (since health-check set):\n%s", name, strings.Join(h.entries, "\n"))
	}()
	for _, x := range w.members {
		h.until(t, w, name, x.port, "online", 10*time.Second)
	}
	stopped := time.Now()
	stop()
	took := h.until(t, w, name, m.port, "offline", bound+slack)
	t.Logf("%s offline in lb show %s after its %s stopped (bound %s)", m.word, took.Round(time.Millisecond), what, bound)
	// lb show reads Service_Monitor, which the datapath follows through
	// northd and ovn-controller: a request right after it may still reach m.
	for {
		got := ask(40)
		if got[m.word] == 0 && w.served(got) == 40 {
			break
		}
		if time.Since(stopped) > bound+slack {
			t.Fatalf("40 requests %s after %s's %s stopped: %v, want all answered by the others", time.Since(stopped).Round(time.Millisecond), m.word, what, got)
		}
		t.Logf("%s after the stop, once lb show said offline: %v", time.Since(stopped).Round(time.Millisecond), got)
	}
	start(t)
	took = h.until(t, w, name, m.port, "online", bound+slack)
	t.Logf("%s online in lb show %s after its %s started again", m.word, took.Round(time.Millisecond), what)
	eventually(t, m.word+" back in rotation", func() error { return w.spread(ask(30), 30) })
	if s := strings.TrimPrefix(strings.Join(h.seq[m.port], " "), "unknown "); s != "online offline online" {
		t.Errorf("%s: healths %q, want online, offline, online (after unknown)", m.word, s)
	}
	return h
}

// udp: a UDP load balancer on its own VIP spreads datagrams, each from a
// new source port, over the three members; with a health check, a member
// whose UDP server stops goes offline and comes back (udpHealth).
func (w *lbWorld) udp(t *testing.T) {
	d := w.e.d
	w.qn(t, "lb", "create", lbUDP, "--network", lbBlue, "--vip", lbVIPUDP, "--protocol", "udp")
	w.t.Cleanup(func() { d.Qnetctl("lb", "delete", lbUDP) })
	w.qn(t, "lb", "listener", "add", lbUDP, strconv.Itoa(udpPort))
	for _, m := range w.members {
		w.qn(t, "lb", "member", "add", lbUDP, m.port)
	}
	eventually(t, "the UDP VIP answers", func() error {
		if got := udpAnswers(w.blue.ns, lbVIPUDP, 3); w.served(got) == 0 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	got := udpAnswers(w.blue.ns, lbVIPUDP, 60)
	t.Logf("60 UDP queries: %v", got)
	if err := w.spread(got, 60); err != nil {
		t.Fatal(err)
	}
	w.udpHealth(t)
}

// udpHealth: OVN probes a UDP member with a datagram; an ICMP port
// unreachable (its server stopped, the member's kernel answers) takes it
// offline and out of rotation, silence would count as alive. Served
// again, it is online and gets datagrams (healthCycle).
func (w *lbWorld) udpHealth(t *testing.T) {
	m := w.members[1]
	w.healthCycle(t, lbUDP, m, "UDP server", m.stopUDP, m.serveUDP, func(n int) map[string]int { return udpAnswers(w.blue.ns, lbVIPUDP, n) })
}

// delete: deleting the load balancers leaves no Load_Balancer, health
// check or Service_Monitor row of theirs and frees their VIPs.
func (w *lbWorld) delete(t *testing.T) {
	for _, name := range []string{lbTCP, lbUDP} {
		w.qn(t, "lb", "delete", name)
	}
	if out := w.qn(t, "lb", "list"); strings.Contains(out, lbVIP) || strings.Contains(out, lbVIPUDP) {
		t.Errorf("lb list after delete:\n%s", out)
	}
	for _, name := range []string{lbTCP, lbUDP} {
		if rows := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=_uuid", "find", "Load_Balancer", "name=qn-lb-"+name); rows != "" {
			t.Errorf("Load_Balancer qn-lb-%s left: %s", name, rows)
		}
	}
	if rows := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=vip", "list", "Load_Balancer_Health_Check"); strings.Contains(rows, lbVIP) {
		t.Errorf("health checks left: %s", rows)
	}
	eventually(t, "no Service_Monitor row left", func() error {
		if rows := sbx.Tool(t, "ovn-sbctl", "--bare", "--columns=ip,port", "list", "Service_Monitor"); rows != "" {
			return fmt.Errorf("Service_Monitor rows: %s", rows)
		}
		return nil
	})
	// The VIP is free again: a new load balancer can take it.
	w.qn(t, "lb", "create", lbTCP, "--network", lbBlue, "--vip", lbVIP)
	w.qn(t, "lb", "delete", lbTCP)
}
