package ipam

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkAllocate: one Allocate (plus the Release that keeps the fill
// level constant) on a /16 at 0 %, 50 % and 99 % full.
func BenchmarkAllocate(b *testing.B) {
	for _, fill := range []int{0, 50, 99} {
		b.Run(fmt.Sprintf("fill=%d%%", fill), func(b *testing.B) {
			p := mustPool(b, PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1")})
			n := int(p.Stats().Size) * fill / 100
			// Fill scattered (every other address first), as after churn.
			for i := 0; i < n; i++ {
				if err := p.Claim(p.addr(uint64((2*i)%65534 + 2))); err != nil {
					p.Allocate()
				}
			}
			checkFill(b, p, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				a, err := p.Allocate()
				if err != nil {
					b.Fatal(err)
				}
				p.Release(a)
			}
		})
	}
}

// BenchmarkRelease: Release of an allocated address.
func BenchmarkRelease(b *testing.B) {
	p := mustPool(b, PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1")})
	b.ReportAllocs()
	for b.Loop() {
		a, _ := p.Allocate()
		if err := p.Release(a); err != nil {
			b.Fatal(err)
		}
	}
}

// checkFill: the benchmark runs at the fill level it claims.
func checkFill(t testing.TB, p *Pool, n int) {
	t.Helper()
	if got := p.Stats().Used; got != uint64(n) {
		t.Fatalf("pool holds %d addresses, the benchmark wants %d", got, n)
	}
}
