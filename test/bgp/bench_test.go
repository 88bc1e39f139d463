package bgp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// BenchmarkBGP measures, against FRR, how fast the ToR learns where a
// floating IP lives, each side by side with its peer in OVN in the same
// run, and prints a table with the targets (printBench, after the
// package's run):
//
//   - fip associate -> its /32 in FRR's RIB via the port's chassis, and
//     fip disassociate -> withdrawn (10 each);
//   - a live migration (virsh migrate --live, the test guest, alternately
//     a->b and b->a; 4): from the migration's start until FRR's only next
//     hop is the destination's, next to when OVN's Port_Binding moved to
//     the destination's chassis;
//   - a gateway failover (the active gateway chassis' ovn-controller and
//     ovs-vswitchd killed; 3): from the kill until FRR's only next hop to
//     the router's gateway address is the new active chassis', next to
//     when OVN (router show) named the new one.
//
// Everything is polled every 10 ms (vtysh, ovn-sbctl and qnetctl each in
// their own goroutine): the resolution. QN_BENCH_SMOKE=1 (make
// bench-smoke): one of each, targets n/a. b.N is ignored: run it with
// -benchtime 1x, as make bench does:
//
//	flock -o /tmp/qn-e2e.lock go test -run '^$' -bench BGP -benchtime 1x ./test/bgp
func BenchmarkBGP(b *testing.B) {
	env.Require(b)
	smoke := os.Getenv("QN_BENCH_SMOKE") == "1"
	n := func(full int) int {
		if smoke {
			return 1
		}
		return full
	}
	bench = benchReport{smoke: smoke}
	benchFIP(b, n(10))
	benchFailover(b, n(3))
	benchMigration(b, n(4))
	for _, r := range bench.rows {
		b.ReportMetric(float64(harness.Median(r.took))/1e6, "ms-"+r.unit)
	}
}

// benchFIP: fip associate -> FRR's RIB and disassociate -> withdrawn.
func benchFIP(b *testing.B, trials int) {
	setup(b, "bgpbench", "bgpbnet", "10.232.9.0/24")
	c := newContainer(b, "b", "bench-b", "bgpbnet")
	addr := newFIP(b)
	prefix := addr + "/32"
	var toRIB, toWithdraw []time.Duration
	for range trials {
		t0 := time.Now()
		qn(b, "fip", "associate", addr, c.Port)
		toRIB = append(toRIB, until(b, t0, prefix+" in FRR's RIB", func() bool { h, err := nextHopsErr(prefix); return err == nil && len(h) == 1 })[0])
		t0 = time.Now()
		qn(b, "fip", "disassociate", addr)
		toWithdraw = append(toWithdraw, until(b, t0, prefix+" out of FRR's RIB", func() bool { h, err := nextHopsErr(prefix); return err == nil && len(h) == 0 })[0])
	}
	b.Logf("fip associate -> FRR RIB: %v; disassociate -> withdrawn: %v", toRIB, toWithdraw)
	bench.add(benchRow{what: "fip associate → /32 in FRR's RIB", unit: "fip-to-rib", took: toRIB, target: 500 * time.Millisecond})
	bench.add(benchRow{what: "fip disassociate → withdrawn", unit: "fip-withdraw", took: toWithdraw, target: 500 * time.Millisecond})
}

// benchFailover: the active gateway chassis dies; FRR's next hop to the
// gateway address moves to the new active chassis.
func benchFailover(b *testing.B, trials int) {
	gw, _ := setup(b, "bgpbfo", "bgpbfonet", "10.232.10.0/24")
	prefix := gw + "/32"
	var rib, ovn []time.Duration
	for range trials {
		before := fromGateway(b, "bgpbfo", prefix)
		t0 := time.Now()
		killChassis(b, before)
		var after string
		got := until(b, t0, "the gateway of bgpbfo to leave host "+before,
			func() bool { h := activeHostErr("bgpbfo"); return h != "" && h != before },
			func() bool {
				h, err := nextHopsErr(prefix)
				if err != nil || len(h) != 1 || h[0] == addrs[before] {
					return false
				}
				after = h[0]
				return true
			})
		ovn, rib = append(ovn, got[0]), append(rib, got[1])
		b.Logf("gateway failover %s -> %s: OVN %v, FRR %v", before, after, got[0], got[1])
		restoreHost(b, before)
		fromGateway(b, "bgpbfo", prefix)
	}
	bench.add(benchRow{what: "gateway failover: chassis killed → FRR's next hop on the new one", unit: "failover-to-rib",
		took: rib, peer: ovn, peerName: "OVN's active gateway moved", lagTarget: time.Second})
}

// benchMigration: a VM with a floating IP migrates; FRR's next hop
// follows it.
func benchMigration(b *testing.B, trials int) {
	setup(b, "bgpbmig", "bgpbmignet", "10.232.11.0/24")
	v := bootVM(b, "qn-test-bgpbench", "bgpbmignet", "10.232.11.1")
	addr := newFIP(b)
	prefix := addr + "/32"
	qn(b, "fip", "associate", addr, v.iface)
	later(b, "fip", "disassociate", addr)
	announced(b, prefix, addrs[v.host])
	var rib, ovn, virsh []time.Duration
	for i := range trials {
		to := map[string]string{"a": "b", "b": "a"}[v.host]
		chassis := sbChassisUUID(b, nh.Var("QN_CHASSIS_", to))
		t0 := time.Now()
		var took time.Duration
		var err error
		done := make(chan struct{})
		go func() { took, err = v.migrateErr(to); close(done) }()
		got := until(b, t0, "the port and FRR's next hop to follow the VM to "+to,
			func() bool { return sbPortChassis(v.iface) == chassis },
			func() bool { h, err := nextHopsErr(prefix); return err == nil && len(h) == 1 && h[0] == addrs[to] })
		<-done
		if err != nil {
			b.Fatal(err)
		}
		ovn, rib, virsh = append(ovn, got[0]), append(rib, got[1]), append(virsh, took)
		b.Logf("migration %d -> %s: virsh %v, OVN %v, FRR %v", i+1, to, took, got[0], got[1])
	}
	bench.add(benchRow{what: "live migration: virsh migrate → FRR's next hop on the destination", unit: "migration-to-rib",
		took: rib, peer: ovn, peerName: "OVN's port binding moved", lagTarget: time.Second,
		note: fmt.Sprintf("virsh migrate took %s ms (median)", harness.Ms(harness.Median(virsh)))})
}

// until polls each of conds every 10 ms in its own goroutine until it
// holds (60 s at most: the benchmark fails, naming what) and returns when
// each first held, since t0.
func until(b testing.TB, t0 time.Time, what string, conds ...func() bool) []time.Duration {
	b.Helper()
	out := make([]time.Duration, len(conds))
	ok := make([]bool, len(conds))
	var wg sync.WaitGroup
	for i, c := range conds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[i] = ovsdbtest.Until(context.Background(), 60*time.Second, c)
			out[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	for i := range conds {
		if !ok[i] {
			b.Fatalf("waiting for %s: condition %d never held within 60 s", what, i+1)
		}
	}
	return out
}

// activeHostErr is activeHost without failing ("" : none or an error).
func activeHostErr(name string) string {
	out, err := daemons["a"].Qnetctl("-o", "json", "router", "show", name)
	var r routerGW
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Gateway == nil {
		return ""
	}
	for _, h := range nh.Names() {
		if nh.Var("QN_CHASSIS_", h) == r.Gateway.Active {
			return h
		}
	}
	return ""
}

// sbChassisUUID is the Southbound row of the chassis named name.
func sbChassisUUID(b testing.TB, name string) string {
	b.Helper()
	out, err := exec.Command("ovn-sbctl", "--db="+nh.Vars["QN_SB_REMOTE"], "--bare", "--columns=_uuid", "find", "Chassis", "name="+name).Output()
	if u := strings.TrimSpace(string(out)); err == nil && u != "" {
		return u
	}
	b.Fatalf("no Southbound Chassis %s: %v", name, err)
	return ""
}

// sbPortChassis is the chassis (row) logical port lp is bound to ("" : none).
func sbPortChassis(lp string) string {
	out, _ := exec.Command("ovn-sbctl", "--db="+nh.Vars["QN_SB_REMOTE"], "--bare", "--columns=chassis", "find", "Port_Binding", "logical_port="+lp).Output()
	return strings.TrimSpace(string(out))
}
