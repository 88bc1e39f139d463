package bgp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/quantumnet/quantumnet/pkg/netnstest"
)

// kernelRoutes are the namespace's IPv4 and IPv6 main-table routes as
// "PREFIX proto N [via GW]" (link-local and kernel ones left out).
func kernelRoutes(t *testing.T) []string {
	var out []string
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := netlink.RouteList(nil, fam)
		if err != nil {
			t.Errorf("route list: %v", err)
			return nil
		}
		for _, r := range rs {
			if r.Dst == nil || r.Protocol == 2 || strings.HasPrefix(r.Dst.String(), "fe80:") { // proto kernel
				continue
			}
			s := r.Dst.String() + " proto " + r.Protocol.String()
			if r.Gw != nil {
				s += " via " + r.Gw.String()
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func readSysctl(t *testing.T, key string) string {
	b, err := os.ReadFile("/proc/sys/" + key)
	if err != nil {
		t.Errorf("sysctl %s: %v", key, err)
	}
	return strings.TrimSpace(string(b))
}

// addLink adds a veth name (its peer name-p up; no dummy module here).
func addLink(t *testing.T, name string, up bool) netlink.Link {
	l := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "-p"}
	if err := netlink.LinkAdd(l); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	if err := netlink.LinkSetUp(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name + "-p"}}); err != nil {
		t.Fatalf("up %s-p: %v", name, err)
	}
	if up {
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatalf("up %s: %v", name, err)
		}
	}
	got, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func addRoute(t *testing.T, dst string, l netlink.Link, proto netlink.RouteProtocol) {
	p := netip.MustParsePrefix(dst)
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(p), Protocol: proto, Scope: netlink.SCOPE_LINK}); err != nil {
		t.Fatalf("route add %s proto %d: %v", dst, proto, err)
	}
}

// TestIntegrationExposeRoutes: in a namespace of its own with a dummy link
// standing for br-ex (down), the Exposer turns forwarding on, brings the
// bridge up (rp_filter loose), installs a route per announced prefix
// (proto 250; the routed subnet via its router's gateway address), keeps
// a withdrawn one until a pruning sync, then removes it and a stale one
// of its own proto, and never touches routes of another proto, on the
// bridge or elsewhere. A network without a mapped bridge is an error that
// names it, the other routes installed anyway.
func TestIntegrationExposeRoutes(t *testing.T) {
	netnstest.InFresh(t, func() {
		br := addLink(t, "qnbx", false)
		other := addLink(t, "fgn0", true)
		e := &Exposer{Bridges: map[string]string{"physnet1": "qnbx"}, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		if err := e.Forwarding(true); err != nil {
			t.Fatal(err)
		}
		if v4, v6 := readSysctl(t, "net/ipv4/ip_forward"), readSysctl(t, "net/ipv6/conf/all/forwarding"); v4 != "1" || v6 != "1" {
			t.Errorf("forwarding: ipv4 %s, ipv6 %s; want 1 and 1", v4, v6)
		}
		physnets := map[string]string{"ext": "physnet1"}
		r := func(p, kind, via string) Route {
			rt := Route{Prefix: netip.MustParsePrefix(p), Kind: kind, Network: "ext"}
			if via != "" {
				rt.Via = netip.MustParseAddr(via)
			}
			return rt
		}
		want := []Route{r("192.0.2.101/32", KindFIP, ""), r("192.0.2.5/32", KindRouter, ""), r("10.9.0.0/24", KindSubnet, "192.0.2.5"), r("2001:db8::101/128", KindFIP, "")}
		if err := e.Sync(want, physnets, true); err != nil {
			t.Fatal(err)
		}
		l, _ := netlink.LinkByName("qnbx")
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("the bridge is still down")
		}
		if v := readSysctl(t, "net/ipv4/conf/qnbx/rp_filter"); v != "2" {
			t.Errorf("rp_filter on the bridge: %s, want 2 (loose)", v)
		}
		all := []string{"10.9.0.0/24 proto 250 via 192.0.2.5", "192.0.2.101/32 proto 250", "192.0.2.5/32 proto 250", "2001:db8::101/128 proto 250"}
		if got := kernelRoutes(t); !slices.Equal(got, all) {
			t.Fatalf("after the first sync: %q, want %q", got, all)
		}
		for _, kr := range must(Installed()) {
			if kr.LinkIndex != br.Attrs().Index {
				t.Errorf("%s is on link %d, want the bridge's %d", kr.Dst, kr.LinkIndex, br.Attrs().Index)
			}
		}

		// Foreign routes (another proto, on the bridge and elsewhere) and a
		// stale one of ours.
		addRoute(t, "192.0.2.160/32", br, netlink.RouteProtocol(4)) // static
		addRoute(t, "198.51.100.0/24", other, netlink.RouteProtocol(3))
		addRoute(t, "198.51.100.7/32", other, netlink.RouteProtocol(3))
		addRoute(t, "192.0.2.150/32", br, Proto)
		foreign := []string{"192.0.2.160/32 proto static", "198.51.100.0/24 proto boot", "198.51.100.7/32 proto boot"}

		withdrawn := slices.Delete(slices.Clone(want), 0, 1) // 192.0.2.101 withdrawn
		if err := e.Sync(withdrawn, physnets, false); err != nil {
			t.Fatal(err)
		}
		if got, w := kernelRoutes(t), sorted(append(append([]string{"192.0.2.150/32 proto 250"}, all...), foreign...)); !slices.Equal(got, w) {
			t.Errorf("a sync without pruning (before the withdrawal): %q, want %q", got, w)
		}
		if err := e.Sync(withdrawn, physnets, true); err != nil {
			t.Fatal(err)
		}
		if got, w := kernelRoutes(t), sorted(append(slices.Delete(slices.Clone(all), 1, 2), foreign...)); !slices.Equal(got, w) {
			t.Errorf("after pruning: %q, want %q (the withdrawn and the stale route gone, the foreign kept)", got, w)
		}

		unmapped := append(slices.Clone(withdrawn), Route{Prefix: netip.MustParsePrefix("192.0.2.99/32"), Kind: KindFIP, Network: "other-ext"})
		if err := e.Sync(unmapped, physnets, true); err == nil || !strings.Contains(err.Error(), `"other-ext"`) || !strings.Contains(err.Error(), "bridge_mappings") {
			t.Errorf("a route on a network without a bridge: %v, want an error naming the network and bridge_mappings", err)
		}

		if err := e.Sync(nil, physnets, true); err != nil {
			t.Fatal(err)
		}
		if got := kernelRoutes(t); !slices.Equal(got, foreign) {
			t.Errorf("after everything is withdrawn: %q, want only the foreign routes %q", got, foreign)
		}
		recreated(t, e, want, physnets)
	})
}

// recreated: the bridge's device deleted and made again (an ovs-vswitchd
// restart), Watch kicks and the next sync puts the routes back on the new
// device, up.
func recreated(t *testing.T, e *Exposer, want []Route, physnets map[string]string) {
	if err := e.Sync(want, physnets, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kicked := make(chan struct{}, 1)
	if err := e.Watch(ctx, func() {
		select {
		case kicked <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	l, _ := netlink.LinkByName("qnbx")
	if err := netlink.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	br := addLink(t, "qnbx", false)
	select {
	case <-kicked:
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge's device recreated, Watch did not kick")
	}
	if err := e.Sync(want, physnets, true); err != nil {
		t.Fatal(err)
	}
	rs := must(Installed())
	if len(rs) != len(want) {
		t.Errorf("after the bridge's device was recreated: %d routes of proto 250, want %d", len(rs), len(want))
	}
	for _, kr := range rs {
		if kr.LinkIndex != br.Attrs().Index {
			t.Errorf("%s on link %d, want the new device's %d", kr.Dst, kr.LinkIndex, br.Attrs().Index)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func sorted(s []string) []string { slices.Sort(s); return s }
