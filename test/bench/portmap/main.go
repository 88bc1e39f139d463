// Command portmap benchmarks host port mappings (run by `make bench` as
// `go run ./test/bench/portmap`, as root): the TCP connection setup time
// (connect() until the handshake is done) through a host port — the
// host's address, port 8080, DNATed by QuantumNet's rules to a
// container's port 80 through the host's management port — against
// directly to the container's address, in the same run.
//
// The world is test/e2e's for port mappings: the OVN sandbox
// (scripts/sandbox.sh) with its chassis in a network namespace standing
// for the host, quantumnetd managing it, a network with two containers
// attached by the real CNI plugin through libcni (the first with the
// portMappings capability 8080 -> 80), and an outside namespace cabled to
// the host by a veth (the host 192.0.2.1, the outside 192.0.2.10) standing
// for another machine.
//
// Paths, measured interleaved (one connection of each in turn, -n rounds),
// each against a listener in this process that accepts and closes:
//
//   - outside -> host:8080: another machine through the mapping
//     (PREROUTING DNAT, FORWARD, MASQUERADE to the management port);
//   - host -> host:8080: the host itself through the mapping (OUTPUT DNAT);
//   - container -> container:80: directly, the second container to the
//     first one's address on the same network (OVN only): the baseline;
//   - outside -> host:9090: a listener in the host itself, no mapping, no
//     OVN: what the veth alone costs.
//
// It prints p50, p99 and max per path and the mapping's p50 over the
// direct one's; it is a report (no target): exit 0 unless something failed
// to run. Everything it creates is removed at the end, also on failure and
// on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagN    = flag.Int("n", 1000, "connections per path")
	flagBin  = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagJSON = flag.String("json", "", "also write the results as JSON to this file")
	smoke    = harness.SmokeFlag()
)

const (
	network   = "pmbench"
	subnet4   = "10.233.0.0/24"
	hostIP    = "192.0.2.1"
	outsideIP = "192.0.2.10"
	hostPort  = 8080
	ctrPort   = 80
	plainPort = 9090
)

var logf = harness.BenchLogf("portmap")

func main() {
	harness.ParseFlags("./test/bench/portmap", "Host port mapping: TCP connection setup through host:8080 (DNAT) vs directly to the container (root; OVN, iptables).")
	if *smoke {
		if err := harness.FlagDefaults(map[string]string{"n": "20"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(run())
}

// bench is the world and what to undo.
type bench struct {
	*harness.BenchWorld
	out       string // the outside namespace
	listeners []net.Listener
}

func run() (code int) {
	ctx, stop := harness.Interruptible(logf)
	defer stop()
	b := &bench{BenchWorld: harness.NewBenchWorld("pmbench", "pmb", logf)}
	defer harness.Finish(&code, time.Now(), b.cleanup, logf)
	paths, err := b.up(ctx)
	if err != nil {
		b.SetupFailed(err)
		return 1
	}
	logf("measuring %d connections per path, interleaved", *flagN)
	for i := 0; i < *flagN && ctx.Err() == nil; i++ {
		for _, p := range paths {
			c, took, err := harness.DialTCP(p.ns, p.addr, p.port, time.Second)
			if err != nil {
				logf("%s: connection %d: %v", p.Name, i+1, err)
				return 1
			}
			c.Close()
			p.took = append(p.took, took)
		}
	}
	if ctx.Err() != nil {
		return 1
	}
	// Every connection to host:8080 went through the mapping's DNAT (the
	// nat table sees a connection's first packet).
	if n, err := b.dnatted(); err != nil || n < 2**flagN {
		logf("QN-HOSTPORTS counted %d connections, want at least %d (%v)", n, 2**flagN, err)
		return 1
	}
	rep := report(os.Stdout, paths)
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, rep); err != nil {
			logf("%v", err)
			return 1
		}
	}
	return 0
}

// up brings the sandbox, the daemon, the outside, the containers and the
// listeners up, and returns the paths once each has connected once.
func (b *bench) up(ctx context.Context) ([]*path, error) {
	if err := b.Up(*flagBin, []string{"ovn-controller", "ovn-nbctl", "iptables", "ip6tables"}); err != nil {
		return nil, err
	}
	if err := b.Qn("network", "create", network, "--subnet4", subnet4); err != nil {
		return nil, err
	}
	if err := b.outside(); err != nil {
		return nil, err
	}
	mapped, mappedIP, err := b.container("pmb1", true)
	if err != nil {
		return nil, err
	}
	peer, _, err := b.container("pmb2", false)
	if err != nil {
		return nil, err
	}
	if err := b.listen(mapped, ctrPort); err != nil {
		return nil, err
	}
	if err := b.listen(b.Sbx.Netns, plainPort); err != nil {
		return nil, err
	}
	paths := []*path{
		{Name: "outside -> host " + hostIP + ":8080 (mapping)", ns: b.out, addr: hostIP, port: hostPort},
		{Name: "host -> host " + hostIP + ":8080 (mapping)", ns: b.Sbx.Netns, addr: hostIP, port: hostPort},
		{Name: "container -> container " + mappedIP + ":80 (direct)", ns: peer, addr: mappedIP, port: ctrPort, direct: true},
		{Name: "outside -> host " + hostIP + ":9090 (no mapping, no OVN)", ns: b.out, addr: hostIP, port: plainPort},
	}
	for _, p := range paths {
		var err error
		if !ovsdbtest.Until(ctx, 30*time.Second, func() bool {
			var c net.Conn
			if c, _, err = harness.DialTCP(p.ns, p.addr, p.port, time.Second); err == nil {
				c.Close()
			}
			return err == nil
		}) {
			return nil, fmt.Errorf("%s: no connection within 30 s: %v", p.Name, err)
		}
	}
	return paths, nil
}

// sh runs a command, its output in the error.
func sh(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// outside makes the outside namespace, cabled to the host by a veth.
func (b *bench) outside() error {
	b.out = b.NS("out")
	host := b.Sbx.Netns
	b.Undo = append(b.Undo, func() { exec.Command("ip", "netns", "del", b.out).Run() })
	for _, c := range [][]string{
		{"netns", "add", b.out},
		{"-n", host, "link", "add", "qnpmb-h", "type", "veth", "peer", "name", "eth0", "netns", b.out},
		{"-n", host, "addr", "add", hostIP + "/24", "dev", "qnpmb-h"},
		{"-n", host, "link", "set", "qnpmb-h", "up"},
		{"-n", b.out, "addr", "add", outsideIP + "/24", "dev", "eth0"},
		{"-n", b.out, "link", "set", "eth0", "up"},
		{"-n", b.out, "link", "set", "lo", "up"},
	} {
		if err := sh("ip", c...); err != nil {
			return err
		}
	}
	return nil
}

// container makes a namespace attached to the network by the CNI plugin
// (with the mapping 8080 -> 80 when mapped); it returns the namespace and
// its IPv4 address.
func (b *bench) container(id string, mapped bool) (ns, ip string, err error) {
	return b.Container(id, network, `,"capabilities":{"portMappings":true}`, func(rt *libcni.RuntimeConf) {
		if mapped {
			rt.CapabilityArgs = map[string]any{"portMappings": []map[string]any{{"hostPort": hostPort, "containerPort": ctrPort, "protocol": "tcp"}}}
		}
	})
}

// listen accepts (and closes) TCP connections on port in namespace ns
// until the end.
func (b *bench) listen(ns string, port int) error {
	l, err := harness.ListenTCP(ns, "tcp4", port)
	if err != nil {
		return fmt.Errorf("listen on port %d in %s: %w", port, ns, err)
	}
	b.listeners = append(b.listeners, l)
	go harness.AcceptLoop(l, func(c net.Conn) { c.Close() })
	return nil
}

// dnatted is the packets counted by the DNAT rules of QN-HOSTPORTS in
// the host.
func (b *bench) dnatted() (int, error) {
	out, err := exec.Command("ip", "netns", "exec", b.Sbx.Netns, "iptables", "-t", "nat", "-L", "QN-HOSTPORTS", "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("iptables -L QN-HOSTPORTS: %v: %s", err, out)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[2] == "DNAT" {
			var k int
			fmt.Sscan(f[0], &k)
			n += k
		}
	}
	return n, nil
}

// cleanup undoes everything, the last made first.
func (b *bench) cleanup() error {
	for _, l := range b.listeners {
		l.Close()
	}
	return b.Close(b.out)
}
