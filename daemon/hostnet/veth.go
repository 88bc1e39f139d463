// Package hostnet configures the host's side of QuantumNet's interfaces
// with netlink: veth pairs into network namespaces (a container's, a
// resolver endpoint's), their addresses and routes, the host interfaces of
// management ports (host addresses and host routes only), and the TX checksum
// offload the userspace datapath needs off. It knows nothing of OVN or OVS.
package hostnet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"unsafe"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VethSpec describes the veth pair of one container attachment.
type VethSpec struct {
	HostName  string // host end, added to the integration bridge
	ContName  string // container end (the CNI ifname)
	Netns     string // path of the container's network namespace
	MAC       net.HardwareAddr
	MTU       int
	Addrs     []netip.Prefix // container addresses with the subnet's prefix length
	Gateways  []netip.Addr   // default route next hops (one per family)
	TxCsumOff bool           // turn TX checksum offload off on both ends (userspace datapath)
	// DefaultRoute says whether the container end gets the default routes
	// through Gateways; nil: for each family, only if the namespace has no
	// default route of it yet (the first interface of a multi-NIC
	// container gets it, the others do not).
	DefaultRoute *bool
	// Group, if not 0, is the host end's link group (IFLA_GROUP, set in
	// the request that creates the pair, unlike an alias): it marks the
	// pair as its creator's while no record names it yet, so that a sweep
	// after a crash (HostVethsInGroup) finds it.
	Group uint32
}

// VethInfo is what SetupVeth created.
type VethInfo struct {
	HostIndex int
	ContIndex int
	ContMAC   net.HardwareAddr
	// DefaultVia are the gateways a default route was added through.
	DefaultVia []netip.Addr
}

// SetupVeth creates the veth pair, configures the container end (MAC, MTU,
// addresses, default routes) and brings both ends up. On failure it removes
// what it created.
func SetupVeth(s VethSpec) (VethInfo, error) {
	if _, err := CreateVeth(s); err != nil {
		return VethInfo{}, err
	}
	return ConfigureVeth(s)
}

// CreateVeth is the first half of SetupVeth, the costly one, which needs
// no address yet: the pair (container end in s.Netns, with s.MAC if set),
// MTU and TX checksum offload, the host end up. ConfigureVeth completes it.
// On failure it removes what it created.
func CreateVeth(s VethSpec) (VethInfo, error) {
	var info VethInfo
	netns, err := ns.GetNS(s.Netns)
	if err != nil {
		return info, fmt.Errorf("netns %s: %w", s.Netns, err)
	}
	defer netns.Close()
	// A stale host end from a crash would make creation fail: remove it.
	if l, err := netlink.LinkByName(s.HostName); err == nil {
		_ = netlink.LinkDel(l)
	}
	err = netns.Do(func(ns.NetNS) error {
		if _, err := netlink.LinkByName(s.ContName); err == nil {
			return fmt.Errorf("ifname %q: an interface of that name already exists in netns %s", s.ContName, s.Netns)
		}
		return nil
	})
	if err == nil {
		info.HostIndex, err = addPair(s, netns)
	}
	if err == nil {
		err = netns.Do(func(ns.NetNS) error {
			l, err := netlink.LinkByName(s.ContName)
			if err != nil {
				return err
			}
			info.ContIndex, info.ContMAC = l.Attrs().Index, l.Attrs().HardwareAddr
			if s.TxCsumOff {
				if err := SetTxChecksum(s.ContName, false); err != nil {
					return err
				}
			}
			// OVN port security makes addresses unique: no duplicate address
			// detection, whose second of a "tentative" link-local address would
			// hold up DHCPv6 and router solicitations.
			_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+s.ContName+"/accept_dad", []byte("0"), 0o644)
			return nil
		})
	}
	if err == nil && s.TxCsumOff {
		err = SetTxChecksum(s.HostName, false)
	}
	if err != nil {
		_ = DeleteHostVeth(s.HostName)
		return info, err
	}
	return info, nil
}

// addPair creates the pair from the host's side in one netlink request:
// the host end (in s.Group, so that no crash can leave it unmarked, and
// up) and its peer, named s.ContName, in the container's namespace (with
// s.MAC if set). It returns the host end's index.
func addPair(s VethSpec, netns ns.NetNS) (int, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.Group = s.HostName, s.MTU, s.Group
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: s.ContName, PeerNamespace: netlink.NsFd(int(netns.Fd())),
		PeerHardwareAddr: s.MAC}
	if err := netlink.LinkAdd(veth); err != nil {
		return 0, fmt.Errorf("create veth %s/%s: %w", s.HostName, s.ContName, err)
	}
	host, err := netlink.LinkByName(s.HostName)
	if err == nil {
		err = netlink.LinkSetUp(host)
	}
	if err != nil {
		return 0, fmt.Errorf("veth %s: %w", s.HostName, err)
	}
	// The host end carries no addresses: no router advertisements either.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+s.HostName+"/accept_ra", []byte("0"), 0o644)
	return host.Attrs().Index, nil
}

// HostVethsInGroup returns the names of the host's veth ends in link
// group group (VethSpec.Group).
func HostVethsInGroup(group uint32) ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range links {
		if l.Type() == "veth" && l.Attrs().Group == group {
			out = append(out, l.Attrs().Name)
		}
	}
	return out, nil
}

// ConfigureVeth completes CreateVeth: the container end gets s.MAC (if
// set and not already its), goes up, and gets its addresses and default
// routes. On failure it removes the pair.
func ConfigureVeth(s VethSpec) (VethInfo, error) {
	var info VethInfo
	netns, err := ns.GetNS(s.Netns)
	if err != nil {
		_ = DeleteHostVeth(s.HostName)
		return info, fmt.Errorf("netns %s: %w", s.Netns, err)
	}
	defer netns.Close()
	err = netns.Do(func(ns.NetNS) error {
		link, err := netlink.LinkByName(s.ContName)
		if err != nil {
			return err
		}
		if s.MAC != nil && !bytes.Equal(link.Attrs().HardwareAddr, s.MAC) {
			if err := netlink.LinkSetHardwareAddr(link, s.MAC); err != nil {
				return fmt.Errorf("MAC %s on %s: %w", s.MAC, s.ContName, err)
			}
		}
		info.ContIndex, info.ContMAC = link.Attrs().Index, link.Attrs().HardwareAddr
		if s.MAC != nil {
			info.ContMAC = s.MAC
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", s.ContName, err)
		}
		for _, p := range s.Addrs {
			a := &netlink.Addr{IPNet: prefixToIPNet(p)}
			if p.Addr().Is6() {
				a.Flags = unix.IFA_F_NODAD
			}
			if err := netlink.AddrAdd(link, a); err != nil {
				return fmt.Errorf("address %s on %s: %w", p, s.ContName, err)
			}
		}
		via, err := defaultRoutes(link, s.Gateways, s.DefaultRoute)
		info.DefaultVia = via
		return err
	})
	if err != nil {
		_ = DeleteHostVeth(s.HostName)
		return info, err
	}
	if l, err := netlink.LinkByName(s.HostName); err == nil {
		info.HostIndex = l.Attrs().Index
	}
	return info, nil
}

// defaultRoutes adds the default routes through gws on link, in the
// current namespace, as want says (nil: for a family without one yet), and
// returns the gateways used.
func defaultRoutes(link netlink.Link, gws []netip.Addr, want *bool) ([]netip.Addr, error) {
	var via []netip.Addr
	for _, gw := range gws {
		family, dst := netlink.FAMILY_V4, "0.0.0.0/0"
		if gw.Is6() {
			family, dst = netlink.FAMILY_V6, "::/0"
		}
		_, dnet, _ := net.ParseCIDR(dst)
		existing, err := netlink.RouteList(nil, family)
		if err != nil {
			return via, fmt.Errorf("default routes: %w", err)
		}
		existing = slices.DeleteFunc(existing, func(r netlink.Route) bool { return r.Dst != nil && !isDefault(r.Dst) })
		if want == nil && len(existing) > 0 || want != nil && !*want {
			continue
		}
		if len(existing) > 0 {
			return via, fmt.Errorf("default route via %s on %s: %w: the namespace already has one (%s); "+
				"set \"defaultRoute\": false in the CNI config of one of its networks", gw, link.Attrs().Name, unix.EEXIST, describe(existing[0]))
		}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dnet, Gw: net.IP(gw.AsSlice())}
		if err := netlink.RouteAdd(r); err != nil {
			return via, fmt.Errorf("default route via %s on %s: %w", gw, link.Attrs().Name, err)
		}
		via = append(via, gw)
	}
	return via, nil
}

func isDefault(n *net.IPNet) bool { ones, _ := n.Mask.Size(); return ones == 0 }

func describe(r netlink.Route) string {
	dev := fmt.Sprintf("ifindex %d", r.LinkIndex)
	if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
		dev = l.Attrs().Name
	}
	return fmt.Sprintf("via %s dev %s", r.Gw, dev)
}

// DefaultGateways are the next hops of the default routes through ifname
// in the namespace at netnsPath.
func DefaultGateways(netnsPath, ifname string) ([]netip.Addr, error) {
	var gws []netip.Addr
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		link, err := netlink.LinkByName(ifname)
		if err != nil {
			return err
		}
		routes, err := netlink.RouteList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if (r.Dst == nil || isDefault(r.Dst)) && r.Gw != nil {
				if a, ok := netip.AddrFromSlice(r.Gw); ok {
					gws = append(gws, a.Unmap())
				}
			}
		}
		return nil
	})
	return gws, err
}

// DeleteHostVeth deletes the veth pair by its host end; a missing link is not an error.
func DeleteHostVeth(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(l)
}

// HostVethExists reports whether the host end called name exists.
func HostVethExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// CheckVeth verifies that netns holds ifname with the given MAC and addresses.
func CheckVeth(netnsPath, ifname string, mac net.HardwareAddr, addrs []netip.Prefix) error {
	return ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		link, err := netlink.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("interface %q not found in netns %s", ifname, netnsPath)
		}
		if mac != nil && link.Attrs().HardwareAddr.String() != mac.String() {
			return fmt.Errorf("interface %q has MAC %s, want %s", ifname, link.Attrs().HardwareAddr, mac)
		}
		have, err := netlink.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, want := range addrs {
			found := false
			for _, a := range have {
				if a.IPNet.String() == prefixToIPNet(want).String() {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("interface %q lacks address %s", ifname, want)
			}
		}
		return nil
	})
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// ethtool ioctl constants (linux/ethtool.h, linux/sockios.h).
const (
	siocEthtool    = 0x8946
	ethtoolSTxCsum = 0x17
)

type ethtoolValue struct {
	cmd  uint32
	data uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

// ethtool sends one legacy ethtool command. This is what `ethtool -K DEV tx
// off` does, in one system call: the safchain/ethtool library needs a
// generic-netlink session and the feature string tables, and measured ~1.3 ms
// per interface here, a tenth of a whole CNI ADD.
func ethtool(name string, v *ethtoolValue) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var req ifreqData
	copy(req.name[:], name)
	req.data = uintptr(unsafe.Pointer(v))
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	return nil
}

// SetTxChecksum turns TX checksum offload of name on or off, like
// `ethtool -K NAME tx on|off` (every tx-checksum-* feature), in the calling
// thread's network namespace.
func SetTxChecksum(name string, on bool) error {
	v := ethtoolValue{cmd: ethtoolSTxCsum}
	if on {
		v.data = 1
	}
	if err := ethtool(name, &v); err != nil {
		return fmt.Errorf("ethtool tx %v on %s: %w", on, name, err)
	}
	return nil
}
