package bgp

import (
	"context"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	gapi "github.com/osrg/gobgp/v3/api"
	gserver "github.com/osrg/gobgp/v3/pkg/server"

	"github.com/quantumnet/quantumnet/daemon/config"
)

// fixed is a Source whose view the test changes.
type fixed struct {
	mu sync.Mutex
	v  View
}

func (f *fixed) View() (View, error) { f.mu.Lock(); defer f.mu.Unlock(); return f.v, nil }
func (f *fixed) set(v View)          { f.mu.Lock(); f.v = v; f.mu.Unlock() }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// torRIB are the prefixes in the peer's global table with their next hops.
func torRIB(t *testing.T, tor *gserver.BgpServer) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := tor.ListPath(context.Background(), &gapi.ListPathRequest{TableType: gapi.TableType_GLOBAL, Family: v4}, func(d *gapi.Destination) {
		for _, p := range d.Paths {
			for _, a := range p.Pattrs {
				nh := &gapi.NextHopAttribute{}
				if a.UnmarshalTo(nh) == nil {
					out[d.Prefix] = nh.NextHop
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// TestSpeakerAgainstPeer: the speaker peers with a GoBGP "ToR" on
// loopback, announces what Routes computes for its chassis, withdraws a
// floating IP that moves away, and reports the session and routes.
func TestSpeakerAgainstPeer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := freePort(t)
	tor := gserver.NewBgpServer(gserver.LoggerOption(&logger{slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}))
	go tor.Serve()
	defer tor.Stop()
	if err := tor.StartBgp(ctx, &gapi.StartBgpRequest{Global: &gapi.Global{Asn: 65000, RouterId: "10.255.0.1", ListenPort: int32(port), ListenAddresses: []string{"127.0.0.1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := tor.AddPeer(ctx, &gapi.AddPeerRequest{Peer: &gapi.Peer{Conf: &gapi.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65001},
		Transport: &gapi.Transport{PassiveMode: true}}}); err != nil {
		t.Fatal(err)
	}
	v := view()
	src := &fixed{v: v}
	cfg := config.BGP{ASN: 65001, RouterID: "10.255.0.2", ListenPort: -1, NextHop: "192.0.2.12", GracefulRestartTime: 120,
		Neighbor: []config.BGPNeighbor{{Address: "127.0.0.1", ASN: 65000, Port: port}}}
	sp := &Speaker{Config: cfg, Chassis: "b", Source: src, Interval: time.Hour,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := sp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go sp.Run(ctx)
	want := map[string]string{"192.0.2.101/32": "192.0.2.12", "10.0.2.0/24": "192.0.2.12", "192.0.2.50/32": "192.0.2.12", "192.0.2.53/32": "192.0.2.12"}
	until(t, "the peer learns b's routes", func() bool {
		got := torRIB(t, tor)
		for p, nh := range want {
			if got[p] != nh {
				return false
			}
		}
		return len(got) == len(want)
	})

	moved := view()
	moved.PortChassis = map[string]string{"p1": "a"} // 192.0.2.50's port migrated to a
	src.set(moved)
	sp.Kick()
	until(t, "the peer loses 192.0.2.50/32", func() bool { _, ok := torRIB(t, tor)["192.0.2.50/32"]; return !ok })

	st, err := sp.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Neighbors) != 1 || st.Neighbors[0].State != "established" || st.Asn != 65001 {
		t.Errorf("status neighbours: %+v", st.Neighbors)
	}
	var prefixes []string
	for _, r := range st.Announced {
		prefixes = append(prefixes, r.Prefix)
		if r.Reason == "" || r.NextHop != "192.0.2.12" {
			t.Errorf("status route %+v", r)
		}
	}
	if slices.Contains(prefixes, "192.0.2.50/32") || len(prefixes) != 3 {
		t.Errorf("status announces %v", prefixes)
	}
}
