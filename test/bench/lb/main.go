// Command lb benchmarks load balancers (run by `make bench` as
// `go run ./test/bench/lb`, as root), in one run:
//
//   - failover: a client connects to the VIP every -every (a new TCP
//     connection each time, one request, one answer); one member's server
//     is killed; the time from the kill to the start of the last connection
//     that failed or reached the dead member is the failover time, printed
//     next to the bound the health check promises (setting.bound: the
//     first probe after the death comes up to interval plus timeout after
//     it, then a refusing member takes (failure - 1) intervals more, one
//     that stops answering failure timeouts and (failure - 1) intervals),
//     for each health-check setting of -settings and each way to die of
//     -deaths (refuse: the server closed, connections get a RST; silent:
//     the member's packets dropped, like a hung or unplugged machine),
//     -trials times; also when lb show first says offline, when br-int's
//     groups drop the member, how many connections failed, and a trace of
//     the probes reaching the dead member (trace.go);
//   - connection setup: TCP connect + one request/response through the VIP
//     against directly to a member's address, interleaved, p50/p99/max.
//
// The world is test/e2e's: the OVN sandbox (scripts/sandbox.sh) with its
// chassis in a network namespace standing for the host, quantumnetd, one
// network with three members and a client attached by the real CNI plugin
// through libcni, each member serving its name on port 8080 from this
// process, and the load balancer VIP:80 -> members:8080 made with qnetctl.
//
// It exits 0 unless something failed to run or a figure is absurd (a
// failover longer than its bound plus -slack, a member never offline, a
// connection that never works). Everything it creates is removed at the
// end, also on failure and on Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagN        = flag.Int("n", 1000, "connections per path for the connection setup table")
	flagTrials   = flag.Int("trials", 5, "failovers per health-check setting")
	flagSettings = flag.String("settings", "2/1/1/2,1/1/1/1", "health-check settings, comma separated: INTERVAL/TIMEOUT/SUCCESS/FAILURE (s, s, n, n)")
	flagDeaths   = flag.String("deaths", "refuse,silent", "how the member dies, comma separated: refuse (its server closed: RST) or silent (its packets dropped)")
	flagEvery    = flag.Duration("every", 20*time.Millisecond, "the failover client's pace: a new connection this often")
	flagSlack    = flag.Duration("slack", 10*time.Second, "a failover longer than its bound plus this is a failure")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	smoke        = harness.SmokeFlag()
)

const (
	network  = "lbbench"
	subnet4  = "10.234.0.0/24"
	vip      = "10.234.0.100"
	lbName   = "lbbench"
	vipPort  = 80
	mbrPort  = 8080
	nMembers = 3
)

var logf = harness.BenchLogf("lb")

func main() {
	harness.ParseFlags("./test/bench/lb", "Load balancers: failover time after a member's death vs the health check's bound; connection setup through the VIP vs directly (root; OVN).")
	if *smoke {
		if err := harness.FlagDefaults(map[string]string{"n": "50", "trials": "1", "settings": "1/1/1/1"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(run())
}

// bench is the world and what to undo.
type bench struct {
	*harness.BenchWorld
	client   string // the client's namespace
	clientIP string
	members  []*member
}

func run() (code int) {
	settings, err := parseSettings(*flagSettings)
	if err != nil {
		logf("%v", err)
		return 2
	}
	deaths, err := parseDeaths(*flagDeaths)
	if err != nil {
		logf("%v", err)
		return 2
	}
	ctx, stop := harness.Interruptible(logf)
	defer stop()
	b := &bench{BenchWorld: harness.NewBenchWorld("lbbench", "lbb", logf)}
	defer harness.Finish(&code, time.Now(), b.cleanup, logf)
	if err := b.up(ctx); err != nil {
		b.SetupFailed(err)
		return 1
	}
	rep := &results{}
	if rep.Paths, err = b.latency(ctx); err != nil {
		logf("connection setup: %v", err)
		return 1
	}
	for _, s := range settings {
		for _, death := range deaths {
			r, err := b.failovers(ctx, s, death)
			rep.Failover = append(rep.Failover, r)
			if err != nil {
				logf("failover, health check %s, death %s: %v", s, death, err)
				report(os.Stdout, rep) // what was measured until then
				return 1
			}
		}
	}
	report(os.Stdout, rep)
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, rep); err != nil {
			logf("%v", err)
			return 1
		}
	}
	return rep.absurd()
}

// up brings the sandbox, the daemon, the network, the members, the client
// and the load balancer up, and waits until every member answers through
// the VIP.
func (b *bench) up(ctx context.Context) error {
	if err := b.Up(*flagBin, []string{"ovn-controller", "ovn-nbctl", "iptables"}); err != nil {
		return err
	}
	if err := b.qn("network", "create", network, "--subnet4", subnet4); err != nil {
		return err
	}
	// Undone last: after every CNI DEL.
	b.Undo = append(b.Undo, func() { b.D.Qnetctl("network", "delete", network) })
	var err error
	if b.client, b.clientIP, _, err = b.container("lbbcli"); err != nil {
		return err
	}
	for i := range nMembers {
		word := fmt.Sprintf("m%d", i+1)
		ns, ip, port, err := b.container("lbb" + word)
		if err != nil {
			return err
		}
		m := &member{word: word, ns: ns, ip: ip, port: port}
		b.members = append(b.members, m)
		if err := m.start(); err != nil {
			return err
		}
	}
	if err := b.qn("lb", "create", lbName, "--network", network, "--vip", vip); err != nil {
		return err
	}
	b.Undo = append(b.Undo, func() { b.D.Qnetctl("lb", "delete", lbName) })
	if err := b.qn("lb", "listener", "add", lbName, fmt.Sprint(vipPort), "--member-port", fmt.Sprint(mbrPort)); err != nil {
		return err
	}
	for _, m := range b.members {
		if err := b.qn("lb", "member", "add", lbName, m.port); err != nil {
			return err
		}
	}
	return b.allServe(ctx, 30*time.Second)
}

// allServe waits until every member has answered a connection through the
// VIP.
func (b *bench) allServe(ctx context.Context, limit time.Duration) error {
	seen := map[string]bool{}
	var last error
	if !ovsdbtest.Until(ctx, limit, func() bool {
		w, _, err := request(b.client, vip, vipPort)
		if err == nil {
			seen[w] = true
		}
		last = err
		return len(seen) == nMembers
	}) {
		return fmt.Errorf("not every member answered through %s:%d within %s: answered %v, last error %v", vip, vipPort, limit, seen, last)
	}
	return nil
}

// qn runs qnetctl, its output in the error.
func (b *bench) qn(args ...string) error { return b.Qn(args...) }

// show is the load balancer as lb show reports it.
func (b *bench) show() (*api.LoadBalancer, error) {
	out, err := b.D.Qnetctl("-o", "json", "lb", "show", lbName)
	if err != nil {
		return nil, fmt.Errorf("lb show: %v %s", err, out)
	}
	var l api.LoadBalancer
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("lb show: %v", err)
	}
	return &l, nil
}

// health is the health lb show reports for the member on port.
func (b *bench) health(port string) (string, error) {
	l, err := b.show()
	if err != nil {
		return "", err
	}
	for _, m := range l.Members {
		if m.Port == port {
			return m.Health, nil
		}
	}
	return "", fmt.Errorf("lb show: no member %s", port)
}

// container makes a namespace attached to the network by the CNI plugin;
// it returns the namespace, its IPv4 address and its logical port.
func (b *bench) container(id string) (ns, ip, port string, err error) {
	if ns, ip, err = b.Container(id, network, "", nil); err != nil {
		return "", "", "", err
	}
	port, err = b.portOf(id)
	return ns, ip, port, err
}

// portOf is the logical port of a container.
func (b *bench) portOf(id string) (string, error) {
	out, err := b.D.Qnetctl("-o", "json", "port", "list", "--network", network)
	if err != nil {
		return "", fmt.Errorf("port list: %v %s", err, out)
	}
	var ports []struct {
		Name        string `json:"name"`
		ContainerID string `json:"container_id"`
	}
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		return "", err
	}
	for _, p := range ports {
		if p.ContainerID == id {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no port of container %s", id)
}

// cleanup undoes everything, the last made first.
func (b *bench) cleanup() error {
	for _, m := range b.members {
		m.stop()
	}
	return b.Close(append([]string{b.client}, b.memberNS()...)...)
}

func (b *bench) memberNS() []string {
	var out []string
	for _, m := range b.members {
		out = append(out, m.ns)
	}
	return out
}
