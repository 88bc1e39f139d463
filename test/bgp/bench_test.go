package bgp_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// BenchmarkFIPToRIB is the time from `qnetctl fip associate` returning to
// the floating IP's /32 in FRR's RIB via the port's chassis (ms-to-rib),
// and from `fip disassociate` to its withdrawal (ms-to-withdraw), each
// polled with vtysh (10 ms at first: the resolution). Run by `make bench`
// (-benchtime 10x) and `make bench-smoke` (1x):
//
//	flock -o /tmp/qn-e2e.lock go test -run '^$' -bench FIPToRIB -benchtime 10x ./test/bgp
func BenchmarkFIPToRIB(b *testing.B) {
	env.Require(b)
	setup(b, "bgpbench", "bgpbnet", "10.232.9.0/24")
	c := newContainer(b, "b", "bench-b", "bgpbnet")
	addr := newFIP(b)
	prefix := addr + "/32"
	var toRIB, toWithdraw []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		qn(b, "fip", "associate", addr, c.Port)
		if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool { return len(nextHops(b, prefix)) == 1 }) {
			b.Fatalf("%s never reached FRR's RIB", prefix)
		}
		toRIB = append(toRIB, time.Since(t0))
		t0 = time.Now()
		qn(b, "fip", "disassociate", addr)
		if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool { return len(nextHops(b, prefix)) == 0 }) {
			b.Fatalf("%s never left FRR's RIB", prefix)
		}
		toWithdraw = append(toWithdraw, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(median(toRIB), "ms-to-rib")
	b.ReportMetric(median(toWithdraw), "ms-to-withdraw")
	b.Logf("fip associate -> FRR RIB: %v; disassociate -> withdrawn: %v", toRIB, toWithdraw)
}

// median in milliseconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
