package nbstore

import (
	"fmt"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lb"
)

// BenchmarkSweep: one reconcile sweep over 20 load balancers of 5 members
// each, in step (nothing to write), with 100 or 1000 other ports on the
// network: the sweep's cost must not grow with the ports.
func BenchmarkSweep(b *testing.B) {
	for _, extra := range []int{100, 1000} {
		b.Run(fmt.Sprintf("ports=%d", extra), func(b *testing.B) {
			e := newRoutedEnv(b)
			e.network("blue", "10.0.0.0/20")
			for i := 0; i < extra; i++ {
				e.port(fmt.Sprintf("x%d", i), "blue")
			}
			for i := 0; i < 20; i++ {
				name := fmt.Sprintf("web%d", i)
				e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: name, Network: "blue", VIP: mustAddr(fmt.Sprintf("10.0.15.%d", 100+i))}))
				e.must(e.m.AddListener(e.ctx, name, lb.Listener{Port: 80, MemberPort: 8080}))
				for j := 0; j < 5; j++ {
					e.must(e.m.AddMember(e.ctx, name, fmt.Sprintf("x%d", i*5+j), 0))
				}
			}
			r := &Reconciler{M: e.m}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.sweep(e.ctx)
			}
		})
	}
}
