package ipam

import (
	"net/netip"
	"testing"
	"time"
)

// An exclude far outside the allocation range costs nothing (it walked
// every address from its start: 2^32 here, 2^64 at worst), and a large one
// inside costs a word per 64 addresses. Found by daemon/network's FuzzParse.
func TestReserveRangeBounded(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name     string
		cfg      PoolConfig
		reserved uint64
	}{
		{"IPv6 exclude from far below the range", PoolConfig{Subnet: netip.MustParsePrefix("fd00::/64"),
			Range:   Range{a("fd00::ffff:ffff:0"), a("fd00::ffff:ffff:ff")},
			Exclude: []Range{{a("fd00::"), a("fd00::ffff:ffff:f")}, {a("fd00::ffff:ffff:f0"), a("fd00:0:0:0:ffff:ffff:ffff:ffff")}}}, 16 + 16},
		{"IPv4 /8 almost all excluded", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/8"), Gateway: a("10.0.0.1"),
			Exclude: []Range{{a("10.0.0.2"), a("10.255.255.200")}}}, 1 + 1 + 1 + (1<<24 - 2 - 55)},
		{"unaligned and overlapping", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/22"),
			Exclude: []Range{{a("10.0.0.3"), a("10.0.1.77")}, {a("10.0.1.70"), a("10.0.1.80")}, {a("10.0.0.0"), a("10.0.0.1")}}}, 2 + (256 + 81 - 3) + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p, err := NewPool(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("NewPool took %v", d)
			}
			st := p.Stats()
			if st.Reserved != tc.reserved || st.Free+st.Used+st.Reserved != st.Size {
				t.Fatalf("stats %+v, want %d reserved", st, tc.reserved)
			}
			for i := uint64(0); i < st.Size && i < 1<<12; i++ {
				inExclude := false
				for _, r := range tc.cfg.Exclude {
					inExclude = inExclude || r.Contains(p.addr(i))
				}
				if inExclude && p.State(p.addr(i)) != StateReserved {
					t.Fatalf("%s is excluded but %v", p.addr(i), p.State(p.addr(i)))
				}
			}
		})
	}
}
