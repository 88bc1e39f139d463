package nbstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// fwdEnv: r1 on blue with its gateway on ext, r2 on red without one,
// green on no router; ports pa, pb on blue, pr on red, pg on green; a
// floating IP.
func fwdEnv(t *testing.T) (*env, netip.Addr) {
	e := newEnv(t)
	e.chassis("ch-a", "10.0.0.1", "physnet1:br-ex")
	e.network(ext)
	for _, n := range []string{"blue", "red", "green"} {
		sub := map[string]string{"blue": "10.1.0.0/24", "red": "10.2.0.0/24", "green": "10.3.0.0/24"}[n]
		e.network(network.Input{Name: n, Subnet4: sub})
	}
	for _, r := range [][2]string{{"r1", "blue"}, {"r2", "red"}} {
		if _, err := e.m.Create(e.ctx, r[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Attach(e.ctx, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"pa", "blue"}, {"pb", "blue"}, {"pr", "red"}, {"pg", "green"}} {
		e.port(p[0], p[1], "ch-a")
	}
	fip := netip.MustParseAddr("192.0.2.60")
	if _, err := e.m.CreateFIP(e.ctx, "ext", fip); err != nil {
		t.Fatal(err)
	}
	return e, fip
}

// fwd is a request on fip.
func fwd(fip netip.Addr, proto string, port uint32, target string, tport uint32) ForwardRequest {
	return ForwardRequest{Address: fip, Protocol: proto, Port: port, Target: target, TargetPort: tport}
}

// forwardRows are the port-forward Load_Balancer rows: name -> vips, and
// the router each is on (name -> router names).
func (e *env) forwardRows() (vips map[string]map[string]string, on map[string][]string) {
	e.t.Helper()
	vips, on = map[string]map[string]string{}, map[string][]string{}
	byUUID := map[string]string{}
	for _, r := range e.rows("Load_Balancer", []string{"_uuid", "name", "vips"}) {
		if strings.HasPrefix(r.Str("name"), "qn-fwd-") {
			vips[r.Str("name")] = r.Map("vips")
			byUUID[r.Str("_uuid")] = r.Str("name")
		}
	}
	for _, lr := range e.rows("Logical_Router", []string{"name", "load_balancer"}) {
		for _, u := range lr.Set("load_balancer") {
			if n, ok := byUUID[u]; ok {
				on[n] = append(on[n], lr.Str("name"))
			}
		}
	}
	return vips, on
}

func (e *env) addFwd(req ForwardRequest) router.FloatingIP {
	e.t.Helper()
	f, err := e.m.AddForward(e.ctx, req)
	if err != nil {
		e.t.Fatalf("add forward %+v: %v", req, err)
	}
	return f
}

func (e *env) ip4(port string) netip.Addr {
	e.t.Helper()
	p, err := e.nb.LookupPort(port)
	if err != nil {
		e.t.Fatal(err)
	}
	a, _ := router.TargetAddress(p.IPs, netip.Addr{})
	return a
}

// TestIntegrationForwardRefusals: every bad request is refused with an
// error naming what is wrong, and writes nothing.
func TestIntegrationForwardRefusals(t *testing.T) {
	e, fip := fwdEnv(t)
	other := netip.MustParseAddr("192.0.2.61")
	if _, err := e.m.CreateFIP(e.ctx, "ext", other); err != nil {
		t.Fatal(err)
	}
	add := func(req ForwardRequest) func() error {
		return func() error { _, err := e.m.AddForward(e.ctx, req); return err }
	}
	e.refused("unknown protocol", errs.Invalid, add(fwd(fip, "sctp", 2222, "pa", 22)), "protocol", "sctp")
	e.refused("port 0", errs.Invalid, add(fwd(fip, "tcp", 0, "pa", 22)), "port", "1-65535")
	e.refused("port too big", errs.Invalid, add(fwd(fip, "tcp", 70000, "pa", 22)), "port", "70000")
	e.refused("target port too big", errs.Invalid, add(fwd(fip, "tcp", 2222, "pa", 65536)), "target_port")
	e.refused("no target", errs.Invalid, add(fwd(fip, "tcp", 2222, "", 22)), "target")
	e.refused("unknown target", errs.NotFound, add(fwd(fip, "tcp", 2222, "nope", 22)), "nope")
	e.refused("target on a router without gateway", errs.Invalid, add(fwd(fip, "tcp", 2222, "pr", 22)), "r2", "ext")
	e.refused("target on no router", errs.Invalid, add(fwd(fip, "tcp", 2222, "pg", 22)), "green", "not attached")
	bad := fwd(fip, "tcp", 2222, "pa", 22)
	bad.TargetAddress = netip.MustParseAddr("10.1.0.250")
	e.refused("target address not the target's", errs.Invalid, add(bad), "target_address", "10.1.0.250", "pa")
	bad.TargetAddress = netip.MustParseAddr("fd00::1")
	e.refused("target address IPv6", errs.Invalid, add(bad), "target_address")
	e.refused("unknown floating IP", errs.NotFound, add(fwd(netip.MustParseAddr("192.0.2.99"), "tcp", 2222, "pa", 22)), "192.0.2.99")
	// An associated floating IP: one-to-one NAT owns its ports.
	if _, err := e.m.AssociateFIP(e.ctx, other, "pb", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	e.refused("associated floating IP", errs.Conflict, add(fwd(other, "tcp", 2222, "pa", 22)), "192.0.2.61", "pb")
	// A load balancer on the floating IP (the hook daemon/lb's store fills).
	e.m.FIPUsers = func(a netip.Addr) []string {
		if a == fip || a == other {
			return []string{"web", "api"}
		}
		return nil
	}
	e.refused("forward on a load balancer's FIP", errs.InUse, add(fwd(fip, "tcp", 2222, "pa", 22)), "api, web")
	e.refused("associate a load balancer's FIP", errs.InUse, func() error { _, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.Addr{}); return err }, "web")
	e.refused("delete a load balancer's FIP", errs.InUse, func() error { return e.m.DeleteFIP(e.ctx, fip) }, "web")
	if f, err := e.m.GetFIP(fip); err != nil || strings.Join(f.LoadBalancers, ",") != "api,web" {
		t.Fatalf("fip view: %+v %v, want load balancers api,web", f, err)
	}
	e.m.FIPUsers = nil
	// Forwards and association exclude each other, both ways.
	e.addFwd(fwd(fip, "tcp", 2222, "pa", 22))
	e.refused("associate a FIP with forwards", errs.Conflict, func() error { _, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.Addr{}); return err }, "forward")
	e.refused("duplicate forward", errs.Conflict, add(fwd(fip, "tcp", 2222, "pb", 22)), "2222", "pa")
	e.refused("delete: bad protocol", errs.Invalid, func() error { _, err := e.m.DeleteForward(e.ctx, fip, "icmp", 1); return err }, "protocol")
	e.refused("delete: port 0", errs.Invalid, func() error { _, err := e.m.DeleteForward(e.ctx, fip, "tcp", 0); return err }, "port")
}

// TestIntegrationForwards: add, list, idempotency, several forwards and
// both protocols, follow an address change (event-driven), a gateway
// change, a target's deletion, delete, and the floating IP's deletion
// taking the rest: nothing of theirs is left.
func TestIntegrationForwards(t *testing.T) {
	e, fip := fwdEnv(t)
	pa, pb := e.ip4("pa"), e.ip4("pb")
	e.addFwd(fwd(fip, "tcp", 2222, "pa", 22))
	before := e.dump()
	e.addFwd(fwd(fip, "", 2222, "pa", 22)) // tcp by default; the same again is a no-op
	if e.dump() != before {
		t.Fatal("adding the same forward again changed Northbound")
	}
	e.addFwd(fwd(fip, "tcp", 8080, "pb", 80))
	f := e.addFwd(fwd(fip, "udp", 53, "pa", 5353))
	want := fmt.Sprintf("tcp 2222 pa 22 %s|tcp 8080 pb 80 %s|udp 53 pa 5353 %s", pa, pb, pa)
	if got := fwdString(f.Forwards); got != want || f.Router != "r1" {
		t.Fatalf("forwards %q on %q, want %q on r1", got, f.Router, want)
	}
	vips, on := e.forwardRows()
	tcp, udp := "qn-fwd-192.0.2.60-tcp", "qn-fwd-192.0.2.60-udp"
	if vips[tcp]["192.0.2.60:2222"] != pa.String()+":22" || vips[tcp]["192.0.2.60:8080"] != pb.String()+":80" ||
		vips[udp]["192.0.2.60:53"] != pa.String()+":5353" || len(vips) != 2 {
		t.Fatalf("vips %v", vips)
	}
	if strings.Join(on[tcp], ",") != "qn-lr-r1" || strings.Join(on[udp], ",") != "qn-lr-r1" {
		t.Fatalf("rows on routers %v, want both on qn-lr-r1 only", on)
	}
	e.refused("detach the targets' network", errs.InUse, func() error { _, err := e.m.Detach(e.ctx, "r1", "blue"); return err }, "blue", "192.0.2.60")
	followTargets(t, e, fip)
	// pb is deleted: its VIP goes in the port's own transaction (the runner
	// is stopped: this is the port's doing), its forward leaves the record
	// with the next sync.
	if err := e.ports.Delete(e.ctx, "pb"); err != nil {
		t.Fatal(err)
	}
	vips, _ = e.forwardRows()
	if _, ok := vips[tcp]["192.0.2.60:8080"]; ok || len(vips[tcp]) != 1 {
		t.Fatalf("the deleted target's VIP is still there: %v", vips)
	}
	if err := e.m.SyncForwards(e.ctx); err != nil {
		t.Fatal(err)
	}
	if f, _ := e.m.GetFIP(fip); len(f.Forwards) != 2 || strings.Contains(fwdString(f.Forwards), "pb") {
		t.Fatalf("forwards after pb's deletion and a sync: %v", fwdString(f.Forwards))
	}
	// Delete the last tcp forward: the row goes; again: a no-op.
	for range 2 {
		if _, err := e.m.DeleteForward(e.ctx, fip, "tcp", 2222); err != nil {
			t.Fatal(err)
		}
	}
	if vips, _ = e.forwardRows(); len(vips) != 1 || vips[udp] == nil {
		t.Fatalf("rows after deleting the tcp forwards: %v", vips)
	}
	// Deleting the floating IP deletes its forwards with it (as it
	// disassociates): nothing of theirs is left.
	if err := e.m.DeleteFIP(e.ctx, fip); err != nil {
		t.Fatal(err)
	}
	if vips, on = e.forwardRows(); len(vips) != 0 || len(on) != 0 {
		t.Fatalf("left after the floating IP's deletion: %v %v", vips, on)
	}
}

// followTargets: with the runner on, the target's address change rewrites
// the VIP at once; the gateway's clearing takes the rows off the router
// (the forwards stay, listed) and setting it again puts them back.
func followTargets(t *testing.T, e *env, fip netip.Addr) {
	tcp, udp := "qn-fwd-192.0.2.60-tcp", "qn-fwd-192.0.2.60-udp"
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	// The target's address changes.
	go (&Runner{M: e.m, Interval: time.Hour}).Run(ctx)
	lsp := e.rows("Logical_Switch_Port", []string{"addresses"}, "name=pb")[0].Set("addresses")[0]
	mac, _, _ := strings.Cut(lsp, " ")
	start := time.Now()
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "lsp-set-addresses", "pb", mac+" 10.1.0.77")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		rows, _ := e.nb.ForwardRows(fip)
		row := rowOf(rows, tcp)
		return row != nil && row.Vips["192.0.2.60:8080"] == "10.1.0.77:80"
	}, "the forward to pb follows its new address")
	t.Logf("the VIP followed the address change in %v (as seen by the cache, ovn-nbctl included)", time.Since(start))
	// The gateway goes: the rows leave the router (kept, listed); it comes
	// back: they are on it again.
	if _, err := e.m.ClearGateway(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, on := e.forwardRows(); return len(on) == 0 }, "rows off r1 without its gateway")
	if f, _ := e.m.GetFIP(fip); len(f.Forwards) != 3 {
		t.Fatalf("forwards lost with the gateway: %+v", f.Forwards)
	}
	if _, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext"}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, on := e.forwardRows(); return len(on[tcp]) == 1 && len(on[udp]) == 1 }, "rows back on r1")
}

func fwdString(fs []router.Forward) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s %d %s %d %s", f.Protocol, f.Port, f.Target, f.TargetPort, f.Address))
	}
	return strings.Join(parts, "|")
}

// TestIntegrationForwardSyncDropsLeftovers: what a port's transaction
// did not cover (a target deleted behind the store's back, a floating IP
// released by another path) is cleaned up by the sync; a pinned address
// the target lost keeps the forward without a VIP.
func TestIntegrationForwardSyncDropsLeftovers(t *testing.T) {
	e, fip := fwdEnv(t)
	pinned := fwd(fip, "tcp", 2222, "pa", 22)
	pinned.TargetAddress = e.ip4("pa")
	e.addFwd(pinned)
	e.addFwd(fwd(fip, "tcp", 8080, "pb", 80))
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "lsp-del", "pb")
	mac, _, _ := strings.Cut(e.rows("Logical_Switch_Port", []string{"addresses"}, "name=pa")[0].Set("addresses")[0], " ")
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "lsp-set-addresses", "pa", mac+" 10.1.0.78")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, err := e.nb.LookupPort("pb")
		pa, _ := e.nb.LookupPort("pa")
		return err != nil && len(pa.IPs) == 1 && pa.IPs[0] == netip.MustParseAddr("10.1.0.78")
	}, "pb gone and pa's new address in the cache")
	if err := e.m.SyncForwards(e.ctx); err != nil {
		t.Fatal(err)
	}
	vips, _ := e.forwardRows()
	if len(vips["qn-fwd-192.0.2.60-tcp"]) != 0 {
		t.Fatalf("vips %v: want none (pb gone, pa lost its pinned address)", vips)
	}
	f, _ := e.m.GetFIP(fip)
	if got := fwdString(f.Forwards); got != "tcp 2222 pa 22 invalid IP" {
		t.Fatalf("forwards %q, want the pinned one to pa without an address", got)
	}
	if err := e.m.SyncForwards(e.ctx); err != nil { // settled: nothing more to write
		t.Fatal(err)
	}
	before := e.dump()
	if err := e.m.SyncForwards(e.ctx); err != nil || e.dump() != before {
		t.Fatalf("a settled sync wrote: %v", err)
	}
}

// TestIntegrationForwardsConcurrentDaemons: two daemons adding forwards to
// one floating IP at once lose none (the row's guard turns a lost race
// into a retryable conflict).
func TestIntegrationForwardsConcurrentDaemons(t *testing.T) {
	e, fip := fwdEnv(t)
	m2 := e.second()
	stacktest.AtOnce(t, 20, func(i int) error {
		m := []*Manager{e.m, m2}[i%2]
		for {
			_, err := m.AddForward(e.ctx, fwd(fip, "tcp", uint32(3000+i), "pa", 22))
			if !errors.Is(err, errs.Conflict) {
				return err
			}
		}
	})
	vips, _ := e.forwardRows()
	if len(vips) != 1 || len(vips["qn-fwd-192.0.2.60-tcp"]) != 20 {
		t.Fatalf("rows %v: want one with 20 VIPs", vips)
	}
}

// TestIntegrationForwardNorthd: ovn-northd compiles a forward into the
// router's load-balancing flows (FIP:2222 -> the target's :22) on the
// gateway chassis, and the router answers ARP for the floating IP on its
// gateway port though no NAT rule names it.
func TestIntegrationForwardNorthd(t *testing.T) {
	e, fip := fwdEnv(t)
	e.northd()
	pa := e.ip4("pa")
	e.addFwd(fwd(fip, "tcp", 2222, "pa", 22))
	sbctl := func(args ...string) string {
		return e.sbSrv.Run("ovn-sbctl", append([]string{"--db=" + e.sbSrv.Remote}, args...)...)
	}
	backend := fmt.Sprintf("%s:22", pa)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		out, _ := e.sbSrv.TryRun("ovn-sbctl", "--db="+e.sbSrv.Remote, "lflow-list", "qn-lr-r1")
		return strings.Contains(out, backend)
	}, "load-balancing flows of the forward")
	flows := sbctl("lflow-list", "qn-lr-r1")
	lb := false
	for _, l := range strings.Split(flows, "\n") {
		if strings.Contains(l, "lr_in_dnat") && strings.Contains(l, "ip4.dst == 192.0.2.60") && strings.Contains(l, "tcp.dst == 2222") &&
			strings.Contains(l, "ct_lb(backends="+backend+")") && strings.Contains(l, `is_chassis_resident("cr-qn-lrg-r1")`) {
			lb = true
		}
	}
	if !lb {
		t.Errorf("no load balancing of 192.0.2.60:2222 to %s on the gateway chassis:\n%s", backend, flows)
	}
	// An ARP request for the floating IP from the outside is answered by
	// the router's gateway port (northd puts router load balancers' VIPs
	// in an address set the gateway port answers for).
	out := e.trace("qn-ext", `inport == "qn-ln-ext" && eth.src == 02:00:00:00:00:0a && eth.dst == ff:ff:ff:ff:ff:ff && `+
		`arp.op == 1 && arp.sha == 02:00:00:00:00:0a && arp.spa == 192.0.2.10 && arp.tpa == 192.0.2.60`)
	if !strings.Contains(out, "arp.op = 2") || !strings.Contains(out, `output("qn-ln-ext")`) {
		t.Errorf("ARP for the floating IP not answered towards the outside:\n%s", out)
	}
	if t.Failed() {
		t.Logf("router flows:\n%s", flows)
	}
}
