package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustPool(t testing.TB, c PoolConfig) *Pool {
	t.Helper()
	p, err := NewPool(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func drain(t testing.TB, p *Pool) []string {
	t.Helper()
	var out []string
	for {
		a, err := p.Allocate()
		if err != nil {
			if !errors.Is(err, ErrExhausted) {
				t.Fatalf("allocate: %v", err)
			}
			return out
		}
		out = append(out, a.String())
		if len(out) > 1<<20 {
			t.Fatal("runaway allocation")
		}
	}
}

func TestPoolEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  PoolConfig
		want string // every address handed out, in order
		size uint64
	}{
		{"v4 /29 with gateway", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/29"), Gateway: netip.MustParseAddr("10.0.0.1")},
			"10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6", 8},
		{"v4 /30", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.4/30")}, "10.0.0.5 10.0.0.6", 4},
		{"v4 /31 point-to-point", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/31")}, "10.0.0.0 10.0.0.1", 2},
		{"v4 /31 with gateway", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/31"), Gateway: netip.MustParseAddr("10.0.0.1")}, "10.0.0.0", 2},
		{"v4 /32", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.7/32")}, "10.0.0.7", 1},
		{"v4 /32 gateway only", PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.7/32"), Gateway: netip.MustParseAddr("10.0.0.7")}, "", 1},
		{"v6 /127", PoolConfig{Subnet: netip.MustParsePrefix("fd00::/127")}, "fd00:: fd00::1", 2},
		{"v6 /125 with gateway", PoolConfig{Subnet: netip.MustParsePrefix("fd00::/125"), Gateway: netip.MustParseAddr("fd00::1")},
			"fd00::2 fd00::3 fd00::4 fd00::5 fd00::6 fd00::7", 8},
		{"excluded ranges", PoolConfig{Subnet: netip.MustParsePrefix("10.1.0.0/28"), Gateway: netip.MustParseAddr("10.1.0.1"),
			Exclude: []Range{{netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.9")}, {netip.MustParseAddr("10.1.0.12"), netip.MustParseAddr("10.1.0.12")}}},
			"10.1.0.10 10.1.0.11 10.1.0.13 10.1.0.14", 16},
		{"allocation range", PoolConfig{Subnet: netip.MustParsePrefix("10.2.0.0/24"), Gateway: netip.MustParseAddr("10.2.0.1"),
			Range: Range{netip.MustParseAddr("10.2.0.250"), netip.MustParseAddr("10.2.0.255")}},
			"10.2.0.250 10.2.0.251 10.2.0.252 10.2.0.253 10.2.0.254", 6},
		{"gateway in the middle", PoolConfig{Subnet: netip.MustParsePrefix("10.3.0.0/29"), Gateway: netip.MustParseAddr("10.3.0.4")},
			"10.3.0.1 10.3.0.2 10.3.0.3 10.3.0.5 10.3.0.6", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPool(t, tc.cfg)
			got := strings.Join(drain(t, p), " ")
			if got != tc.want {
				t.Fatalf("handed out %q, want %q", got, tc.want)
			}
			s := p.Stats()
			if s.Size != tc.size || s.Free != 0 || s.Used+s.Reserved != s.Size {
				t.Fatalf("stats %+v, want size %d and no free", s, tc.size)
			}
		})
	}
}

func TestPoolV6Slash64(t *testing.T) {
	p := mustPool(t, PoolConfig{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1")})
	if s := p.Stats(); s.Size != DefaultV6PoolSize {
		t.Fatalf("size %d, want the default IPv6 range %d", s.Size, DefaultV6PoolSize)
	}
	a, _ := p.Allocate()
	b, _ := p.Allocate()
	if a.String() != "fd00:1::2" || b.String() != "fd00:1::3" {
		t.Fatalf("got %s %s", a, b)
	}
	if err := p.Claim(netip.MustParseAddr("fd00:1::ffff:ffff")); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("claim beyond the range: %v", err)
	}
	if _, err := NewPool(PoolConfig{Subnet: netip.MustParsePrefix("fd00:1::/64"),
		Range: Range{netip.MustParseAddr("fd00:1::"), netip.MustParseAddr("fd00:1::ffff:ffff")}}); !errors.Is(err, ErrRangeTooLarge) {
		t.Fatalf("explicit huge range accepted: %v", err)
	}
}

func TestPoolRoundRobinAndWrap(t *testing.T) {
	p := mustPool(t, PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/29"), Gateway: netip.MustParseAddr("10.0.0.1")})
	a2, _ := p.Allocate() // .2
	a3, _ := p.Allocate() // .3
	if err := p.Release(a2); err != nil {
		t.Fatal(err)
	}
	// The just-released .2 comes back only after .4, .5, .6.
	var got []string
	for range 4 {
		a, err := p.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.2" {
		t.Fatalf("order %v", got)
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full pool: %v", err)
	}
	if err := p.Release(a3); err != nil {
		t.Fatal(err)
	}
	if a, err := p.Allocate(); err != nil || a != a3 {
		t.Fatalf("wrap-around: %v %v", a, err)
	}
}

func TestPoolClaimAndRelease(t *testing.T) {
	p := mustPool(t, PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.1")})
	for _, tc := range []struct {
		addr string
		want error
	}{
		{"10.0.0.5", nil},
		{"10.0.0.5", ErrInUse},
		{"10.0.0.1", ErrReserved},
		{"10.0.0.0", ErrReserved},
		{"10.0.0.255", ErrReserved},
		{"10.0.1.5", ErrOutOfRange},
		{"fd00::5", ErrOutOfRange},
	} {
		if err := p.Claim(netip.MustParseAddr(tc.addr)); !errors.Is(err, tc.want) {
			t.Errorf("Claim(%s) = %v, want %v", tc.addr, err, tc.want)
		}
	}
	if err := p.Release(netip.MustParseAddr("10.0.0.6")); !errors.Is(err, ErrNotAllocated) {
		t.Errorf("release of a free address: %v", err)
	}
	if err := p.Release(netip.MustParseAddr("10.0.0.1")); !errors.Is(err, ErrReserved) {
		t.Errorf("release of the gateway: %v", err)
	}
	if p.State(netip.MustParseAddr("10.0.0.5")) != StateUsed || p.State(netip.MustParseAddr("10.0.0.6")) != StateFree {
		t.Error("states wrong")
	}
	// Allocation skips the claimed address.
	for range 3 {
		a, _ := p.Allocate()
		if a.String() == "10.0.0.5" {
			t.Fatal("claimed address handed out")
		}
	}
}

func TestPoolLarge(t *testing.T) {
	p := mustPool(t, PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.1")})
	seen := make(map[netip.Addr]bool, 1<<16)
	for _, a := range drain(t, p) {
		ad := netip.MustParseAddr(a)
		if seen[ad] {
			t.Fatalf("%s twice", a)
		}
		seen[ad] = true
	}
	if len(seen) != 65533 {
		t.Fatalf("handed out %d addresses of a /16, want 65533", len(seen))
	}
}
