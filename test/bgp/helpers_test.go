package bgp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// container is a network namespace attached to a network by a host's
// daemon through the CNI plugin binary (harness.Container).
type container = harness.Container

// newContainer attaches a new container on host h to network; it is
// detached (CNI DEL) and removed when the test ends, or by Del.
func newContainer(t testing.TB, h, name, network string) *container {
	t.Helper()
	return harness.NewContainer(t, env.Bin, daemons[h], h, "qnbg", name, network)
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
