package bgp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Proto is the kernel route protocol of the routes the Exposer installs
// (`ip route show proto 250`): it only ever lists, changes and deletes
// routes of this protocol.
const Proto netlink.RouteProtocol = 250

// Exposer is expose_routes: it hands what the ToR sends to next_hop to OVN
// by a kernel route per announced prefix onto the physnet's bridge
// (`PREFIX dev br-ex proto 250`; a routed subnet `via` its router's
// gateway address), in the namespace the daemon runs in. The kernel ARPs
// (NDs) there for the address; OVN answers where it lives.
type Exposer struct {
	Bridges map[string]string // physnet → bridge (chassis.bridge_mappings)
	Log     *slog.Logger
	// ProcSys is /proc/sys ("" : /proc/sys), for the forwarding sysctls.
	ProcSys string

	prepared map[string]int // bridge → the link index made ready (up, rp_filter)
}

// Forwarding turns on IPv4 forwarding (and IPv6 with v6): the daemon
// routes between the NIC facing the ToR and the bridge. Logged when it
// changes something.
func (e *Exposer) Forwarding(v6 bool) error {
	keys := []string{"net/ipv4/ip_forward"}
	if v6 {
		keys = append(keys, "net/ipv6/conf/all/forwarding")
	}
	for _, k := range keys {
		if err := e.sysctl(k, "1"); err != nil {
			return fmt.Errorf("bgp.expose_routes: %w", err)
		}
	}
	return nil
}

// sysctl sets key to v, logging a change.
func (e *Exposer) sysctl(key, v string) error {
	root := e.ProcSys
	if root == "" {
		root = "/proc/sys"
	}
	p := filepath.Join(root, key)
	old, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", strings.ReplaceAll(key, "/", "."), err)
	}
	if strings.TrimSpace(string(old)) == v {
		return nil
	}
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), v, err)
	}
	e.Log.Info("bgp: expose_routes set a sysctl", "key", strings.ReplaceAll(key, "/", "."), "old", strings.TrimSpace(string(old)), "new", v)
	return nil
}

// Sync installs (replaces) the kernel routes of want, the routes the
// speaker announces (physnets: external network → physnet); with prune
// it also deletes every route of Proto that is not among them (stale
// ones at start, withdrawn ones later). A route whose network's physnet
// has no bridge here, or whose bridge has no device, is skipped (an
// error, after the others are done).
func (e *Exposer) Sync(want []Route, physnets map[string]string, prune bool) error {
	var errl []error
	desired := map[string]netlink.Route{}
	for _, r := range want {
		kr, err := e.kernelRoute(r, physnets)
		if err != nil {
			errl = append(errl, err)
			continue
		}
		desired[routeKey(kr)] = kr
	}
	cur, err := Installed()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, kr := range cur {
		k := routeKey(kr)
		if _, ok := desired[k]; ok {
			have[k] = true
			continue
		}
		if !prune {
			continue
		}
		if err := netlink.RouteDel(&kr); err != nil && !errors.Is(err, unix.ESRCH) {
			errl = append(errl, fmt.Errorf("bgp: delete kernel route %s: %w", kr.Dst, err))
			continue
		}
		e.Log.Info("bgp: kernel route removed", "prefix", kr.Dst.String(), "link", kr.LinkIndex)
	}
	keys := slices.Collect(maps.Keys(desired))
	slices.SortFunc(keys, func(a, b string) int { // without a gateway first
		return cmp.Compare(len(desired[a].Gw), len(desired[b].Gw))
	})
	for _, k := range keys {
		kr := desired[k]
		if have[k] {
			continue
		}
		if err := netlink.RouteReplace(&kr); err != nil {
			errl = append(errl, fmt.Errorf("bgp: kernel route %s: %w", kr.Dst, err))
			continue
		}
		e.Log.Info("bgp: kernel route installed", "prefix", kr.Dst.String(), "link", kr.LinkIndex, "via", kr.Gw)
	}
	return errors.Join(errl...)
}

// kernelRoute is r's kernel route onto its physnet's bridge, made ready.
func (e *Exposer) kernelRoute(r Route, physnets map[string]string) (netlink.Route, error) {
	phys := physnets[r.Network]
	br := e.Bridges[phys]
	if br == "" {
		return netlink.Route{}, fmt.Errorf("bgp: %s: network %q (physnet %q) has no bridge in chassis.bridge_mappings", r.Prefix, r.Network, phys)
	}
	idx, err := e.bridge(br)
	if err != nil {
		return netlink.Route{}, fmt.Errorf("bgp: %s: %w", r.Prefix, err)
	}
	kr := netlink.Route{LinkIndex: idx, Dst: ipNet(r.Prefix), Protocol: Proto, Table: unix.RT_TABLE_MAIN, Scope: netlink.SCOPE_LINK}
	if r.Via.IsValid() {
		// the gateway address is announced (and routed onto the bridge)
		// too: Sync installs the routes without a gateway first
		kr.Gw, kr.Scope = net.IP(r.Via.AsSlice()), netlink.SCOPE_UNIVERSE
	}
	if r.Prefix.Addr().Is6() {
		kr.Scope = netlink.SCOPE_UNIVERSE
	}
	return kr, nil
}

// bridge is br's link index, once up and with loose reverse-path
// filtering (replies to the ToR's hosts do not come back through it).
func (e *Exposer) bridge(br string) (int, error) {
	l, err := netlink.LinkByName(br)
	if err != nil {
		return 0, fmt.Errorf("bridge %s: %w", br, err)
	}
	idx := l.Attrs().Index
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(l); err != nil {
			return 0, fmt.Errorf("bridge %s up: %w", br, err)
		}
		e.Log.Info("bgp: expose_routes brought the bridge up", "bridge", br)
	}
	if e.prepared == nil {
		e.prepared = map[string]int{}
	}
	if e.prepared[br] != idx { // new, or a new device (ovs-vswitchd restarted)
		if err := e.sysctl("net/ipv4/conf/"+br+"/rp_filter", "2"); err != nil {
			return 0, err
		}
		e.prepared[br] = idx
	}
	return idx, nil
}

// Installed are the kernel routes of Proto in the main table (both
// families) of the current namespace.
func Installed() ([]netlink.Route, error) {
	var out []netlink.Route
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := netlink.RouteListFiltered(fam, &netlink.Route{Protocol: Proto, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("bgp: list kernel routes (proto %d): %w", Proto, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// routeKey identifies a kernel route: prefix, device, gateway.
func routeKey(r netlink.Route) string {
	gw := ""
	if r.Gw != nil {
		gw = r.Gw.String()
	}
	return fmt.Sprintf("%s|%d|%s", r.Dst, r.LinkIndex, gw)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Watch calls kick whenever a bridge's device appears or changes (an
// ovs-vswitchd restart recreates it without its routes, down), until ctx
// ends: the routes come back at once, not at the next periodic sync.
func (e *Exposer) Watch(ctx context.Context, kick func()) error {
	names := map[string]bool{}
	for _, br := range e.Bridges {
		names[br] = true
	}
	ch, done := make(chan netlink.LinkUpdate, 64), make(chan struct{})
	if err := netlink.LinkSubscribe(ch, done); err != nil {
		return fmt.Errorf("bgp: watch the bridges' links: %w", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				if u.Link != nil && names[u.Link.Attrs().Name] {
					kick()
				}
			}
		}
	}()
	return nil
}
