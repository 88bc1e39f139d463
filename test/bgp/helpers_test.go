package bgp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// container is a network namespace attached to a network by a host's
// daemon through the CNI plugin binary.
type container struct {
	// IP is its IPv4 address, IP6 its IPv6 one ("" on an IPv4-only network).
	NS, IP, IP6, Port, Host string
	// detach is CNI DEL; it also runs when the test ends.
	detach func() error
}

// del detaches the container now (CNI DEL), failing the test on an error.
func (c *container) del(t testing.TB) {
	t.Helper()
	if err := c.detach(); err != nil {
		t.Fatalf("CNI DEL %s: %v", c.NS, err)
	}
}

// newContainer attaches a new container on host h to network; it is
// detached (CNI DEL) and removed when the test ends, or by del.
func newContainer(t testing.TB, h, name, network string) *container {
	t.Helper()
	ns := fmt.Sprintf("qnbg-%s-%d", name, os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	// A process holds the namespace: its /proc path is the same in every
	// mount namespace the daemon may run in.
	holder := exec.Command("ip", "netns", "exec", ns, "sleep", "infinity")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList(network, network, daemons[h].ClientSocket, ""))
	if err != nil {
		t.Fatal(err)
	}
	rt := harness.RT("ns-"+name, fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid), "eth0")
	r, err := cni.Config.AddNetworkList(context.Background(), cni.List, rt)
	if err != nil {
		t.Fatalf("CNI ADD %s on host %s, network %s: %v", name, h, network, err)
	}
	detach := func() error { return cni.Config.DelNetworkList(context.Background(), cni.List, rt) }
	t.Cleanup(func() { detach() })
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		t.Fatalf("CNI ADD %s: result %v, %v", name, r, err)
	}
	c := &container{Host: h, NS: ns, detach: detach}
	for _, ip := range res.IPs {
		if ip.Address.IP.To4() != nil && c.IP == "" {
			c.IP = ip.Address.IP.String()
		} else if ip.Address.IP.To4() == nil && c.IP6 == "" {
			c.IP6 = ip.Address.IP.String()
		}
	}
	var ports []struct {
		Name        string `json:"name"`
		ContainerID string `json:"container_id"`
	}
	qnJSON(t, &ports, "port", "list", "--network", network)
	for _, p := range ports {
		if p.ContainerID == "ns-"+name {
			c.Port = p.Name
		}
	}
	if c.Port == "" {
		t.Fatalf("no port of container ns-%s in `port list --network %s`", name, network)
	}
	return c
}

// qn runs qnetctl on host a's daemon and fails the test on an error.
func qn(t testing.TB, args ...string) string {
	t.Helper()
	out, err := daemons["a"].Qnetctl(args...)
	if err != nil {
		t.Fatalf("qnetctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// qnJSON runs qnetctl -o json ARGS and decodes its output into v.
func qnJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := qn(t, append([]string{"-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("qnetctl -o json %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// later runs qnetctl ARGS when the test ends, ignoring errors.
func later(t testing.TB, args ...string) {
	t.Cleanup(func() { daemons["a"].Qnetctl(args...) })
}

// external creates the shared external network unless it exists.
func external(t testing.TB) {
	t.Helper()
	if _, err := daemons["a"].Qnetctl("network", "show", extNet); err == nil {
		return
	}
	qn(t, "network", "create", extNet, "--external", "--physnet", nh.Vars["QN_PHYSNET"],
		"--subnet4", "192.0.2.0/24", "--gateway4", outside, "--fip-range", fipFirst+"-"+fipLast)
}

// routerGW is the gateway part of `router show -o json`.
type routerGW struct {
	Gateway *struct {
		Addrs  []string `json:"addresses"`
		Active string   `json:"active_chassis"`
	} `json:"gateway"`
}

// setup creates network (subnet4) on a new router name with a gateway on
// the external network (more: set-gateway flags), all undone when the
// test ends; it returns the gateway's IPv4 address and the host whose
// chassis is active.
func setup(t testing.TB, name, network, subnet4 string, more ...string) (gw, host string) {
	t.Helper()
	external(t)
	qn(t, "network", "create", network, "--subnet4", subnet4)
	later(t, "network", "delete", network)
	qn(t, "router", "create", name)
	later(t, "router", "delete", name)
	qn(t, "router", "attach", name, network)
	later(t, "router", "detach", name, network)
	qn(t, append([]string{"router", "set-gateway", name, extNet}, more...)...)
	later(t, "router", "clear-gateway", name)
	var r routerGW
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		qnJSON(t, &r, "router", "show", name)
		return r.Gateway != nil && r.Gateway.Active != ""
	}, "no active gateway chassis for "+name)
	for _, a := range r.Gateway.Addrs {
		if p, _, _ := strings.Cut(a, "/"); strings.Count(p, ".") == 3 {
			gw = p
		}
	}
	for _, h := range nh.Names() {
		if nh.Var("QN_CHASSIS_", h) == r.Gateway.Active {
			host = h
		}
	}
	if gw == "" || host == "" {
		t.Fatalf("router %s: gateway %+v: no IPv4 address or unknown active chassis", name, *r.Gateway)
	}
	return gw, host
}

// announced waits until FRR's only path to prefix goes via next hop nh
// (a chassis' address).
func announced(t testing.TB, prefix, nh string) {
	t.Helper()
	var got []string
	if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool {
		got = nextHops(t, prefix)
		return len(got) == 1 && got[0] == nh
	}) {
		t.Fatalf("FRR has no route %s via %s only; its next hops: %v", prefix, nh, got)
	}
}

// fromGateway waits until FRR's only path to prefix goes via the address
// of router name's active gateway chassis, as it is then (a new gateway
// may still move once while its HA group fills). It returns that host.
func fromGateway(t testing.TB, name, prefix string) string {
	t.Helper()
	var got []string
	var host string
	if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool {
		got = nextHops(t, prefix)
		host = activeHost(t, name)
		return len(got) == 1 && host != "" && got[0] == addrs[host]
	}) {
		t.Fatalf("FRR's next hops to %s are %v, want only router %s's active gateway's (host %q)", prefix, got, name, host)
	}
	return host
}

// activeHost is the host of router name's active gateway chassis ("" : none).
func activeHost(t testing.TB, name string) string {
	t.Helper()
	var r routerGW
	qnJSON(t, &r, "router", "show", name)
	if r.Gateway == nil {
		return ""
	}
	for _, h := range nh.Names() {
		if nh.Var("QN_CHASSIS_", h) == r.Gateway.Active {
			return h
		}
	}
	return ""
}

// withdrawn waits until FRR has no path to prefix.
func withdrawn(t testing.TB, prefix string) {
	t.Helper()
	var got []string
	if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool {
		got = nextHops(t, prefix)
		return len(got) == 0
	}) {
		t.Fatalf("FRR still has a route to %s via %v", prefix, got)
	}
}
