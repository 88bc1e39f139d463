package netsvc_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
)

// BenchmarkSweep: one periodic pass of the services runner over every
// network, all in step (nothing to write), with 50 and 500 networks of 4
// ports each (issue 20: the sweeps cost O(changes), not O(networks x
// ports)). Its figure is ns/network: flat from 50 to 500 networks when a
// pass costs O(networks + ports); a lookup that scans every network's or
// port's row per network makes it grow tenfold. QN_BENCH_SMOKE=1: 5 and
// 50 networks.
func BenchmarkSweep(b *testing.B) {
	counts := []int{50, 500}
	if os.Getenv("QN_BENCH_SMOKE") == "1" {
		counts = []int{5, 50}
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("networks=%d", n), func(b *testing.B) {
			s := stacktest.New(b, false)
			s.Wire(nil, nil)
			for i := range n {
				name := fmt.Sprintf("n%03d", i)
				s.Network(network.Input{Name: name, Subnet4: fmt.Sprintf("10.%d.%d.0/24", 100+i/250, i%250)})
				for j := range 4 {
					s.Port(fmt.Sprintf("p%03d-%d", i, j), name, "")
				}
			}
			r := &netsvc.Runner{M: s.Svc, Interval: time.Hour}
			r.Pass(s.Ctx) // anything left to write is written now
			b.ResetTimer()
			for range b.N {
				r.Pass(s.Ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/network")
		})
	}
}
