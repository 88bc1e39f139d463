package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/topology"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestTraceAndTopology: ovn-trace through the daemon says where a packet
// goes and which security group rule decided; the topology shows the
// network's ports. QN_TRACE_CAPTURE=DIR keeps each raw trace there (the
// parser's test data).
func TestTraceAndTopology(t *testing.T) {
	env.Require(t)
	d := launchWith(t, func(c *harness.DaemonConfig) { c.BridgeMappings = []string{"physnet1:br-qntr"} })
	d.MustReady()
	e := newSGEnvOn(t, d, "e2e-tr", "10.214.0.0/24", "fd00:214::/64")
	e.group("trssh", "ingress tcp 22")
	e.group("trdeny", "ingress tcp 22", "admin deny ingress tcp 2222")
	srv := e.container("tr-srv", "trssh")
	cli := e.container("tr-cli")
	deny := e.container("tr-deny", "trdeny")
	c := d.MustClient().QuantumNetClient
	ctx := context.Background()
	from := cli.port
	trace := func(name, dst, proto string, dport uint32) *api.TraceReply {
		t.Helper()
		r, err := c.Trace(ctx, &api.TraceRequest{Port: from, Destination: dst, Protocol: proto, Dport: dport})
		if err != nil {
			t.Fatalf("trace %s: %v", name, err)
		}
		t.Logf("%s: %s [%s] group=%q rule=%q", name, r.Summary, r.Verdict, r.SecurityGroup, r.Rule)
		if dir := os.Getenv("QN_TRACE_CAPTURE"); dir != "" {
			os.WriteFile(filepath.Join(dir, name+".txt"), []byte(r.Raw), 0o644)
		}
		return r
	}
	check := func(r *api.TraceReply, verdict, port, group, rule string) {
		t.Helper()
		if r.Verdict != verdict || r.OutputPort != port || r.SecurityGroup != group || !strings.HasPrefix(r.Rule, rule) {
			t.Errorf("got %s to %q by %q/%q (%s), want %s to %q by %q/%q\n%s", r.Verdict, r.OutputPort, r.SecurityGroup, r.Rule,
				r.Summary, verdict, port, group, rule, r.Raw)
		}
	}
	check(trace("icmp-open", deny.ip4, "icmp", 0), "dropped", "", "trdeny", "")
	r := trace("allowed", srv.ip4, "tcp", 22)
	check(r, "delivered", srv.port, "trssh", ruleID(t, c, "trssh", "ingress ipv4 tcp 22"))
	if !strings.Contains(r.Summary, srv.port) || !strings.Contains(r.Summary, "container") {
		t.Errorf("summary does not name the container's port: %s", r.Summary)
	}
	r = trace("dropped-default", srv.ip4, "tcp", 80)
	check(r, "dropped", "", "trssh", "")
	if !strings.Contains(r.Summary, "default drop") {
		t.Errorf("summary does not say default drop: %s", r.Summary)
	}
	check(trace("dropped-rule", deny.ip4, "tcp", 2222), "dropped", "", "trdeny", ruleID(t, c, "trdeny", "admin deny ingress ipv4 tcp 2222"))

	// Without groups on the target: delivered, no group decided.
	from = srv.port
	check(trace("no-group", cli.ip4, "icmp", 0), "delivered", cli.port, "", "")
	from = cli.port
	if _, err := c.Trace(ctx, &api.TraceRequest{Port: cli.port, Destination: srv.ip4, Protocol: "tcp"}); err == nil ||
		!strings.Contains(err.Error(), "dport") {
		t.Errorf("tcp without a port: %v, want an error naming dport", err)
	}

	traceRouted(t, d, e, cli, trace, check)
	checkTopology(t, c, e.net, srv, cli)
}

// traceRouted: a packet to another network on the router goes through it;
// one to the outside leaves through the gateway's external network.
func traceRouted(t *testing.T, d *harness.Daemon, e *sgEnv, cli ctr, trace func(string, string, string, uint32) *api.TraceReply,
	check func(*api.TraceReply, string, string, string, string)) {
	d.MustNetwork("e2e-tr2", "--subnet4", "10.215.0.0/24")
	d.MustNetwork("e2e-trx", "--external", "--physnet", "physnet1", "--subnet4", "192.0.2.0/24", "--gateway4", "192.0.2.1")
	d.MustQnetctl("router", "create", "e2e-trr")
	t.Cleanup(func() { d.Qnetctl("router", "delete", "e2e-trr") })
	for _, n := range []string{e.net, "e2e-tr2"} {
		d.MustQnetctl("router", "attach", "e2e-trr", n)
		t.Cleanup(func() { d.Qnetctl("router", "detach", "e2e-trr", n) })
	}
	c2, err := harness.NewCNI(t, env.Bin, harness.ConfList("e2e-tr2-cni", "e2e-tr2", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	e2 := &sgEnv{t: t, d: d, net: "e2e-tr2", c: c2}
	far := e2.container("tr-far")
	r := trace("routed", far.ip4, "tcp", 80)
	check(r, "delivered", far.port, "", "")
	if !strings.Contains(r.Raw, "lr_in_ip_routing") {
		t.Errorf("routed trace does not cross the router:\n%s", r.Raw)
	}
	d.MustQnetctl("router", "set-gateway", "e2e-trr", "e2e-trx")
	t.Cleanup(func() { d.Qnetctl("router", "clear-gateway", "e2e-trr") })
	r = trace("gateway", "198.51.100.7", "udp", 53)
	if r.Verdict != "sent-out" || !strings.Contains(r.Summary, "e2e-trx") {
		t.Errorf("to the outside: %s (%s)\n%s", r.Verdict, r.Summary, r.Raw)
	}
}

// ruleID is the id the daemon gives a group's rule.
func ruleID(t *testing.T, c api.QuantumNetClient, group, rule string) string {
	t.Helper()
	g, err := c.GetSecurityGroup(context.Background(), &api.SecurityGroupRef{Name: group})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Rules {
		if r.Spec == rule {
			return r.Id
		}
	}
	t.Fatalf("group %s has no rule %q: %v", group, rule, g.Rules)
	return ""
}

// checkTopology: the network and both ports, in the table and in JSON.
func checkTopology(t *testing.T, c api.QuantumNetClient, network string, ports ...ctr) {
	ctx := context.Background()
	in := topology.Input{}
	nets, err := c.ListNetworks(ctx, &api.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	routers, err := c.ListRouters(ctx, &api.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.ListPorts(ctx, &api.PortFilter{})
	if err != nil {
		t.Fatal(err)
	}
	in.Networks, in.Routers, in.Ports = nets.Networks, routers.Routers, ps.Ports
	tree := topology.Build(in, network)
	var table, js bytes.Buffer
	if err := topology.WriteTable(&table, tree); err != nil {
		t.Fatal(err)
	}
	if err := topology.WriteJSON(&js, tree); err != nil {
		t.Fatal(err)
	}
	t.Logf("topology:\n%s", table.String())
	var got topology.Tree
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// external network -> router (its gateway) -> this network only
	if len(got.ExternalNetworks) != 1 || len(got.ExternalNetworks[0].Routers) != 1 || len(got.Routers)+len(got.Networks) != 0 ||
		len(got.ExternalNetworks[0].Routers[0].Networks) != 1 || got.ExternalNetworks[0].Routers[0].Networks[0].Name != network {
		t.Fatalf("topology json: want e2e-trx -> e2e-trr -> %s only:\n%s", network, js.String())
	}
	n := got.ExternalNetworks[0].Routers[0].Networks[0]
	for _, want := range ports {
		var p *topology.Port
		for _, q := range n.Ports {
			if q.Name == want.port {
				p = q
			}
		}
		if p == nil || p.Kind != "container" || p.Chassis != chassis || !p.Up || !contains(p.Addresses, want.ip4) {
			t.Errorf("topology json: port %s: %+v", want.port, p)
		}
		line := ""
		for _, l := range strings.Split(table.String(), "\n") {
			if strings.Contains(l, "port "+want.port) {
				line = l
			}
		}
		for _, w := range []string{"container", "chassis " + chassis, " up ", want.ip4} {
			if !strings.Contains(line, w) {
				t.Errorf("topology table: port %s's line lacks %q: %q", want.port, w, line)
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.HasPrefix(x, s) {
			return true
		}
	}
	return false
}
