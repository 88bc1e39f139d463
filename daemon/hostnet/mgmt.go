package hostnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// MgmtSpec describes the host interface of a management port (an OVS
// internal port that ovs-vswitchd creates in the host namespace).
type MgmtSpec struct {
	Name      string
	MAC       net.HardwareAddr
	MTU       int
	Addrs     []netip.Addr // host addresses (/32, /128): no subnet route
	TxCsumOff bool
}

// SetupMgmtLink waits for the interface to appear, then gives it its MAC,
// MTU and addresses (as host routes only: the host must not get a route to
// the whole subnet) and brings it up.
func SetupMgmtLink(ctx context.Context, s MgmtSpec) error {
	var l netlink.Link
	var err error
	for { // ovs-vswitchd creates it asynchronously after the transaction
		if l, err = netlink.LinkByName(s.Name); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interface %s did not appear: %w", s.Name, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if s.MAC != nil && l.Attrs().HardwareAddr.String() != s.MAC.String() {
		if err := netlink.LinkSetHardwareAddr(l, s.MAC); err != nil {
			return fmt.Errorf("set MAC of %s: %w", s.Name, err)
		}
	}
	if s.MTU > 0 && l.Attrs().MTU != s.MTU {
		if err := netlink.LinkSetMTU(l, s.MTU); err != nil {
			return fmt.Errorf("set MTU of %s: %w", s.Name, err)
		}
	}
	for _, a := range s.Addrs {
		addr := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(a, a.BitLen()))}
		if a.Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrReplace(l, addr); err != nil {
			return fmt.Errorf("address %s on %s: %w", a, s.Name, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return err
	}
	if s.TxCsumOff {
		return SetTxChecksum(s.Name, false)
	}
	return nil
}

// LinkExists reports whether the interface name exists.
func LinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// SyncHostRoutes makes the host routes (/32, /128) through the interface
// name exactly dsts, each with the interface's address of its family as
// source (srcs).
func SyncHostRoutes(name string, dsts, srcs []netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	want := map[netip.Prefix]bool{}
	for _, d := range dsts {
		want[netip.PrefixFrom(d, d.BitLen())] = true
	}
	have, err := netlink.RouteList(l, netlink.FAMILY_ALL)
	if err != nil {
		return err
	}
	var fails []error
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		p, ok := netip.AddrFromSlice(r.Dst.IP)
		ones, bits := r.Dst.Mask.Size()
		if !ok || ones != bits {
			continue // not a host route (e.g. fe80::/64)
		}
		if pre := netip.PrefixFrom(p.Unmap(), ones); !want[pre] {
			fails = append(fails, netlink.RouteDel(&r))
		}
	}
	for d := range want {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: prefixToIPNet(d), Scope: netlink.SCOPE_LINK}
		for _, s := range srcs {
			if s.Is4() == d.Addr().Is4() {
				r.Src = net.IP(s.AsSlice())
			}
		}
		if err := netlink.RouteReplace(r); err != nil {
			fails = append(fails, fmt.Errorf("route %s dev %s: %w", d, name, err))
		}
	}
	return errors.Join(fails...)
}

// EnableForwarding turns on IP forwarding for a family in the current
// network namespace (traffic from other machines DNATed to a container is
// forwarded to a management port).
func EnableForwarding(v6 bool) error {
	path := "/proc/sys/net/ipv4/ip_forward"
	if v6 {
		path = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[0] == '1' {
		return nil
	}
	return os.WriteFile(path, []byte("1"), 0o644)
}
