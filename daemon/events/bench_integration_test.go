package events_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// BenchmarkIntegrationRebuildPort: what one changed port row costs the
// feed (its row and binding by index, the diff), with few and many ports
// in Northbound: the same, it never rebuilds the world; and its network's
// rebuild when a port comes or goes (O(the network's ports): its count).
func BenchmarkIntegrationRebuildPort(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("ports=%d", n), func(b *testing.B) {
			s := stack(b)
			s.Network(network.Input{Name: "big", Subnet4: "10.8.0.0/20"})
			for i := range n {
				s.Port(fmt.Sprintf("p%04d", i), "big", "")
			}
			hub := events.New(0)
			f := &events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Interval: time.Hour, Log: ovsdbtest.Logger(b)}
			go f.Run(s.Ctx)
			ovsdbtest.Eventually(b, 30*time.Second, func() bool { return hub.Count(events.KindPort) == n }, "ports in the hub")
			b.Run("port", func(b *testing.B) {
				for range b.N {
					f.Rebuild(events.KindPort, "p0000")
				}
			})
			// A port's coming or going rebuilds its network (its count of ports).
			b.Run("network", func(b *testing.B) {
				for range b.N {
					f.Rebuild(events.KindNetwork, "big")
				}
			})
		})
	}
}

// BenchmarkIntegrationRebuildPortFIPs: one changed port row with the
// floating IPs streamed too, with few and many floating IPs in Northbound:
// the port's own floating IPs come from the feed's index, not from a scan
// of every floating-IP reservation.
func BenchmarkIntegrationRebuildPortFIPs(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("fips=%d", n), func(b *testing.B) {
			s := stacktest.New(b, true)
			m := &rtstore.Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, MACPrefix: stacktest.MACPrefix, Log: ovsdbtest.Logger(b)}
			s.Wire(m, m)
			s.Network(network.Input{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "198.18.0.0/20", Gateway4: "198.18.0.1",
				FIPRange: "198.18.1.0-198.18.15.254"})
			s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
			s.Port("p0000", "blue", "")
			first := netip.MustParseAddr("198.18.1.0")
			for a, i := first, 0; i < n; a, i = a.Next(), i+1 {
				if _, err := m.CreateFIP(s.Ctx, "ext", a); err != nil {
					b.Fatal(err)
				}
			}
			hub := events.New(0)
			f := &events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Routers: m, Interval: time.Hour, Log: ovsdbtest.Logger(b)}
			go f.Run(s.Ctx)
			ovsdbtest.Eventually(b, 30*time.Second, func() bool { return hub.Count(events.KindFloatingIP) == n }, "floating IPs in the hub")
			b.ResetTimer()
			for range b.N {
				f.Rebuild(events.KindPort, "p0000")
			}
		})
	}
}

// BenchmarkHubSet: one change published to 100 subscribers, one of them
// stalled (its queue overflows, then it waits for its snapshot).
func BenchmarkHubSet(b *testing.B) {
	hub := events.New(0)
	hub.Synced()
	for range 100 {
		sub := hub.Subscribe(events.Filter{})
		defer sub.Close()
		if ev, err := sub.Next(context.Background()); err != nil || ev.Type != events.TypeSynced {
			b.Fatal(ev, err) // an empty snapshot; then they read no more
		}
	}
	b.ResetTimer()
	for i := range b.N {
		hub.Set(&events.Object{Kind: events.KindPort, Name: "p", Networks: []string{"blue"},
			Msg: &api.Port{Name: "p", Network: "blue", Up: i%2 == 0}})
	}
}
