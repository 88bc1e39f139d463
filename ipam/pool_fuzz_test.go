package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzPool runs random allocate / claim / release sequences on small pools
// against a model and checks the invariants: an address is never handed out
// twice, never a reserved one, and free + used + reserved == size.
func FuzzPool(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 5, 2, 5, 0, 0}, uint8(28), false)
	f.Add([]byte{0, 1, 1, 2, 1, 0, 0, 0, 0, 0}, uint8(30), true)
	f.Add([]byte{1, 3, 1, 3, 2, 3, 0}, uint8(31), false)
	f.Fuzz(func(t *testing.T, ops []byte, bits uint8, v6 bool) {
		var cfg PoolConfig
		if v6 {
			bits = 118 + bits%11 // /118 .. /128
			cfg.Subnet = netip.PrefixFrom(netip.MustParseAddr("fd00:42::"), int(bits))
		} else {
			bits = 22 + bits%11 // /22 .. /32
			cfg.Subnet = netip.PrefixFrom(netip.MustParseAddr("10.42.0.0"), int(bits))
		}
		if bits < 31 || v6 && bits < 127 {
			cfg.Gateway = cfg.Subnet.Addr().Next()
			cfg.Exclude = []Range{{cfg.Subnet.Addr().Next().Next(), cfg.Subnet.Addr().Next().Next().Next()}}
		}
		p, err := NewPool(cfg)
		if err != nil {
			t.Fatal(err)
		}
		size := p.Stats().Size
		reserved := map[netip.Addr]bool{}
		for i := uint64(0); i < size; i++ {
			if a := p.addr(i); p.State(a) == StateReserved {
				reserved[a] = true
			}
		}
		used := map[netip.Addr]bool{}
		for k := 0; k+1 < len(ops); k += 2 {
			a := p.addr(uint64(ops[k+1]) % size)
			switch ops[k] % 3 {
			case 0:
				got, err := p.Allocate()
				if err != nil {
					if !errors.Is(err, ErrExhausted) || uint64(len(used)+len(reserved)) != size {
						t.Fatalf("allocate failed with %d used, %d reserved of %d: %v", len(used), len(reserved), size, err)
					}
					continue
				}
				if used[got] || reserved[got] {
					t.Fatalf("handed out %s (used %v, reserved %v)", got, used[got], reserved[got])
				}
				used[got] = true
			case 1:
				err := p.Claim(a)
				switch {
				case reserved[a]:
					if !errors.Is(err, ErrReserved) {
						t.Fatalf("claim of reserved %s: %v", a, err)
					}
				case used[a]:
					if !errors.Is(err, ErrInUse) {
						t.Fatalf("claim of used %s: %v", a, err)
					}
				default:
					if err != nil {
						t.Fatalf("claim of free %s: %v", a, err)
					}
					used[a] = true
				}
			case 2:
				err := p.Release(a)
				if used[a] != (err == nil) {
					t.Fatalf("release %s (used %v): %v", a, used[a], err)
				}
				delete(used, a)
			}
			s := p.Stats()
			if s.Used != uint64(len(used)) || s.Reserved != uint64(len(reserved)) || s.Free+s.Used+s.Reserved != s.Size {
				t.Fatalf("stats %+v, model used %d reserved %d", s, len(used), len(reserved))
			}
		}
	})
}
