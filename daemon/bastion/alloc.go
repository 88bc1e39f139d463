package bastion

import (
	"fmt"
	"net/netip"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Tunnel ranges come from 100.96.0.0/16 (carrier-grade NAT space, rarely a
// tenant's): one /24 per bastion.
var rangePool = netip.MustParsePrefix("100.96.0.0/16")

// AllocateRange returns the first /24 of the pool no other bastion uses.
func AllocateRange(used []netip.Prefix) (netip.Prefix, error) {
	base := rangePool.Addr().As4()
	for i := 0; i < 256; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(i), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errs.New(errs.Exhausted, fmt.Sprintf("bastion: no free tunnel range left in %s", rangePool))
}

// AllocateAddress returns the lowest free host address of b's range for a
// new peer (the bastion's own is the first).
func AllocateAddress(b Bastion) (netip.Addr, error) {
	used := map[netip.Addr]bool{b.Self(): true}
	for _, p := range b.Peers {
		used[p.Address] = true
	}
	for a := b.Self().Next(); b.TunnelRange.Contains(a); a = a.Next() {
		if a.Is4() && a.As4()[3] == 255 { // broadcast of a /24
			break
		}
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, errs.New(errs.Exhausted, fmt.Sprintf("bastion %s: no free tunnel address left in %s", b.Name, b.TunnelRange))
}
