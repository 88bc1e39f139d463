package attach

import (
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
)

// TestIntegrationTwoNetworksOneContainer (defect 10): a second interface
// in the same namespace is attached without a second default route (which
// failed with EEXIST); defaultRoute names the interface that gets it.
func TestIntegrationTwoNetworksOneContainer(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	ctx := testCtx(t, 60*time.Second)
	ns := netns(t, "mn")
	r0 := req("multi", "eth0", ns)
	r1 := req("multi", "eth1", ns)
	r1.Network = "red"
	res0, err := h.m.Add(ctx, r0)
	if err != nil {
		t.Fatal(err)
	}
	res1, err := h.m.Add(ctx, r1)
	if err != nil {
		t.Fatalf("ADD of a second network in the same container: %v", err)
	}
	if len(res0.DefaultVia) != 1 || res0.DefaultVia[0] != netip.MustParseAddr("10.77.0.1") {
		t.Fatalf("first interface's default routes: %v", res0.DefaultVia)
	}
	// The second gets the IPv6 default (the namespace had none), not IPv4.
	if slices.ContainsFunc(res1.DefaultVia, netip.Addr.Is4) || len(res1.DefaultVia) != 1 {
		t.Fatalf("second interface's default routes: %v", res1.DefaultVia)
	}
	for _, r := range []Request{r0, r1} {
		if err := h.m.Check(ctx, r); err != nil {
			t.Fatalf("CHECK %s: %v", r.Ifname, err)
		}
	}
	// A retried ADD answers the same default routes.
	again, err := h.m.Add(ctx, r1)
	if err != nil || !slices.Equal(again.DefaultVia, res1.DefaultVia) {
		t.Fatalf("retried ADD: %v, %v; want default via %v", again, err, res1.DefaultVia)
	}
	routes := ipRoutes(t, ns)
	if strings.Count(routes, "default") != 1 || !strings.Contains(routes, "default via 10.77.0.1 dev eth0") {
		t.Fatalf("IPv4 routes of the container:\n%s", routes)
	}
	if err := h.m.Del(ctx, r1); err != nil {
		t.Fatal(err)
	}
	// defaultRoute true where the namespace has one: a clear error.
	yes, no := true, false
	r1.DefaultRoute = &yes
	if _, err := h.m.Add(ctx, r1); err == nil || !strings.Contains(err.Error(), "defaultRoute") {
		t.Fatalf("defaultRoute true on a second interface = %v, want an error naming defaultRoute", err)
	}
	// defaultRoute false on the first, unset on the second: the second has it.
	if err := h.m.Del(ctx, r0); err != nil {
		t.Fatal(err)
	}
	r0.DefaultRoute, r1.DefaultRoute = &no, nil
	if res0, err = h.m.Add(ctx, r0); err != nil || len(res0.DefaultVia) != 0 {
		t.Fatalf("defaultRoute false: %+v, %v", res0, err)
	}
	if res1, err = h.m.Add(ctx, r1); err != nil || !slices.Contains(res1.DefaultVia, netip.MustParseAddr("10.78.0.1")) {
		t.Fatalf("second interface after a first without: %+v, %v", res1, err)
	}
	for _, r := range []Request{r0, r1} {
		if err := h.m.Del(ctx, r); err != nil {
			t.Fatal(err)
		}
		if hostnet.HostVethExists(HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)) {
			t.Fatalf("veth of %s left", r.Ifname)
		}
	}
}

func ipRoutes(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns[strings.LastIndex(ns, "/")+1:], "-4", "route").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v %s", err, out)
	}
	return string(out)
}
