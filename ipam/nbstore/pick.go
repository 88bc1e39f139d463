package nbstore

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Want is what a port asks for.
type Want struct {
	IPs []netip.Addr     // requested addresses, at most one per family
	MAC net.HardwareAddr // requested MAC
}

// Claim is what a port got.
type Claim struct {
	MAC      net.HardwareAddr
	Addrs    []netip.Prefix
	Gateways []netip.Addr
	Spec     network.Spec
}

// IPs are the claimed addresses without their prefix lengths.
func (cl *Claim) IPs() []netip.Addr {
	out := make([]netip.Addr, len(cl.Addrs))
	for i, p := range cl.Addrs {
		out[i] = p.Addr()
	}
	return out
}

// family is one address family of a network.
type family struct {
	is6    bool
	subnet netip.Prefix
	gw     netip.Addr
}

// pick chooses the MAC and one address per family of the network for a
// port: the static binding of its MAC first, then the requested address,
// then the next free one.
func (s *Store) pick(st *netState, want Want, port string, c *change) (*Claim, error) {
	cl := &Claim{Spec: st.spec}
	mac, err := s.pickMAC(st, want.MAC)
	if err != nil {
		return nil, err
	}
	cl.MAC = mac
	requested := map[bool]netip.Addr{}
	for _, ip := range want.IPs {
		if _, dup := requested[ip.Is6()]; dup {
			return nil, fmt.Errorf("%w: ips: more than one address of one family requested", errs.Invalid)
		}
		requested[ip.Is6()] = ip
	}
	for _, fam := range []family{{false, st.spec.Subnet4, st.spec.Gateway4}, {true, st.spec.Subnet6, st.spec.Gateway6}} {
		want, asked := requested[fam.is6]
		if st.pools[fam.is6] == nil {
			if asked {
				return nil, fmt.Errorf("%w: ips: %s: network %q has no subnet of that family", errs.Invalid, want, st.spec.Name)
			}
			continue
		}
		ip, err := pickAddr(st, fam, want, asked, cl.MAC, port, c)
		if err != nil {
			return nil, err
		}
		cl.Addrs = append(cl.Addrs, netip.PrefixFrom(ip, fam.subnet.Bits()))
		cl.Gateways = append(cl.Gateways, fam.gw)
	}
	return cl, nil
}

// pickMAC is the requested MAC, checked, or a new one.
func (s *Store) pickMAC(st *netState, want net.HardwareAddr) (net.HardwareAddr, error) {
	if want == nil {
		for range ipam.MACTries {
			m, err := ipam.RandomMAC(s.MACPrefix)
			if err != nil {
				return nil, err
			}
			if _, static := st.byMAC[m.String()]; !static && !s.NB.MACInUse(m.String()) {
				return m, nil
			}
		}
		return nil, ipam.ErrMACSpace
	}
	if len(want) != 6 || want[0]&1 != 0 {
		return nil, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", errs.Invalid, want)
	}
	if s.NB.MACInUse(want.String()) {
		return nil, fmt.Errorf("%w: mac: %s is already used by another port", ErrConflict, want)
	}
	return want, nil
}

// pickAddr chooses the port's address of one family.
func pickAddr(st *netState, fam family, want netip.Addr, asked bool, mac net.HardwareAddr, port string, c *change) (netip.Addr, error) {
	pool := st.pools[fam.is6]
	static, hasStatic := st.byMAC[mac.String()]
	switch {
	case hasStatic && static.Is6() == fam.is6 && (!asked || want == static):
		e := st.entries[static]
		if e.Port != "" {
			return netip.Addr{}, fmt.Errorf("%w: %s, reserved for MAC %s, is in use by port %s", ErrConflict, static, mac, e.Port)
		}
		e.Port = port
		c.set[static] = e
		return static, nil
	case asked:
		if e, ok := st.entries[want]; ok && e.Port == "" && e.Owner != "" {
			return netip.Addr{}, fmt.Errorf("%w: ips: %s is reserved (by %s)", ErrConflict, want, e.Owner)
		}
		if err := pool.Claim(want); err != nil {
			switch {
			case errors.Is(err, ipam.ErrInUse):
				return netip.Addr{}, fmt.Errorf("%w: ips: %s is already in use on network %q", ErrConflict, want, st.spec.Name)
			case errors.Is(err, ipam.ErrReserved):
				return netip.Addr{}, fmt.Errorf("%w: ips: %s is not a usable address of %s (network, broadcast, gateway or excluded)", errs.Invalid, want, fam.subnet)
			default:
				return netip.Addr{}, fmt.Errorf("%w: ips: %s is outside the allocation range %s", errs.Invalid, want, pool.RangeString())
			}
		}
		c.picked = append(c.picked, want)
		c.set[want] = Entry{Port: port}
		return want, nil
	default:
		ip, err := pool.Allocate()
		if err != nil {
			return netip.Addr{}, fmt.Errorf("network %q: %w", st.spec.Name, err)
		}
		c.picked = append(c.picked, ip)
		c.set[ip] = Entry{Port: port}
		return ip, nil
	}
}
