package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	gapi "github.com/osrg/gobgp/v3/api"
	gserver "github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/quantumnet/quantumnet/daemon/config"
)

// Source builds the view the routes are computed from (wired in main
// from the router, network and Southbound stores).
type Source interface {
	View() (View, error)
}

// Speaker is the embedded GoBGP server and the routes it announces.
type Speaker struct {
	Config   config.BGP
	Chassis  string
	Source   Source
	Interval time.Duration // the periodic full sync (0: 30 s)
	Log      *slog.Logger
	// Expose installs the announced routes into the kernel (expose_routes;
	// nil: off).
	Expose *Exposer

	pruned  bool // the first full sync of the kernel routes is done
	kick    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	srv     *gserver.BgpServer
	routes  map[netip.Prefix]announced
	reasons map[netip.Prefix]Route
}

// announced is a route in GoBGP's table with the path's id.
type announced struct {
	Route
	uuid []byte
}

func (s *Speaker) init() {
	s.once.Do(func() {
		s.kick = make(chan struct{}, 1)
		s.routes = map[netip.Prefix]announced{}
	})
}

// Kick asks for a sync soon (a Northbound or Southbound change).
func (s *Speaker) Kick() {
	s.init()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// local is this chassis as the routes see it.
func (s *Speaker) local() Local {
	l := Local{Chassis: s.Chassis}
	if s.Config.HasFamily("ipv4") {
		l.NextHop, _ = netip.ParseAddr(s.Config.NextHop)
	}
	if s.Config.HasFamily("ipv6") {
		l.NextHop6, _ = netip.ParseAddr(s.Config.NextHop6)
	}
	return l
}

// Run (after Start) computes the routes into its table, then adds the
// neighbours with graceful restart (as a restarting speaker: they keep
// our routes until our end-of-RIB, which follows the complete table), and then syncs on every kick and every Interval until ctx
// ends. The server is not stopped at the end: a process that exits drops
// the sessions without a notification, and the neighbours keep the routes
// for the graceful restart time. The kernel routes of Expose stay as well
// (the next start prunes the ones no longer announced).
func (s *Speaker) Run(ctx context.Context) error {
	s.init()
	if s.Expose != nil {
		if err := s.Expose.Watch(ctx, s.Kick); err != nil {
			s.Log.Warn("bgp: bridges not watched (their routes come back at the periodic sync)", "err", err)
		}
	}
	for {
		err := s.sync(ctx)
		if err == nil {
			break
		}
		s.Log.Warn("bgp: first route computation failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	if err := s.addPeers(ctx); err != nil {
		return err
	}
	iv := s.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			time.Sleep(50 * time.Millisecond) // let a burst of changes settle
		case <-t.C:
		}
		if err := s.sync(ctx); err != nil {
			s.Log.Warn("bgp: sync failed, will retry", "err", err)
		}
	}
}

// Start starts GoBGP's server: it listens (an error if the port is in
// use) and announces nothing yet. Run follows.
func (s *Speaker) Start(ctx context.Context) error {
	s.init()
	c := s.Config
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &gapi.Global{Asn: c.ASN, RouterId: c.RouterID, ListenPort: int32(c.ListenPort)}
	if c.ListenAddress != "" {
		g.ListenAddresses = []string{c.ListenAddress}
	}
	if s.Expose != nil {
		if err := s.Expose.Forwarding(c.HasFamily("ipv6")); err != nil {
			return err
		}
	}
	if err := s.server().StartBgp(ctx, &gapi.StartBgpRequest{Global: g}); err != nil {
		return fmt.Errorf("bgp: start: %w", err)
	}
	return nil
}

// addPeers adds the neighbours, once the table holds the routes.
func (s *Speaker) addPeers(ctx context.Context) error {
	c := s.Config
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range c.Neighbor {
		if err := s.srv.AddPeer(ctx, &gapi.AddPeerRequest{Peer: s.peer(n)}); err != nil {
			return fmt.Errorf("bgp: neighbour %s: %w", n.Address, err)
		}
	}
	s.Log.Info("bgp speaker started", "asn", c.ASN, "router_id", c.RouterID, "port", c.ListenPort, "neighbors", len(c.Neighbor), "routes", len(s.routes))
	return nil
}

func (s *Speaker) server() *gserver.BgpServer {
	if s.srv == nil {
		s.srv = gserver.NewBgpServer(gserver.LoggerOption(&logger{s.Log}))
		go s.srv.Serve()
	}
	return s.srv
}

// peer is a neighbour's GoBGP config: graceful restart for each family.
func (s *Speaker) peer(n config.BGPNeighbor) *gapi.Peer {
	gr := uint32(s.Config.GracefulRestartTime)
	p := &gapi.Peer{
		Conf:            &gapi.PeerConf{NeighborAddress: n.Address, PeerAsn: n.ASN, AuthPassword: n.Password},
		GracefulRestart: &gapi.GracefulRestart{Enabled: true, RestartTime: gr, LocalRestarting: true, DeferralTime: 30},
		Timers:          &gapi.Timers{Config: &gapi.TimersConfig{ConnectRetry: 2, HoldTime: 9, KeepaliveInterval: 3}},
	}
	if n.Port != 0 {
		p.Transport = &gapi.Transport{RemotePort: uint32(n.Port)}
	}
	for _, f := range s.families() {
		p.AfiSafis = append(p.AfiSafis, &gapi.AfiSafi{
			Config:            &gapi.AfiSafiConfig{Family: f, Enabled: true},
			MpGracefulRestart: &gapi.MpGracefulRestart{Config: &gapi.MpGracefulRestartConfig{Enabled: true}},
		})
	}
	return p
}

var (
	v4 = &gapi.Family{Afi: gapi.Family_AFI_IP, Safi: gapi.Family_SAFI_UNICAST}
	v6 = &gapi.Family{Afi: gapi.Family_AFI_IP6, Safi: gapi.Family_SAFI_UNICAST}
)

func (s *Speaker) families() []*gapi.Family {
	var out []*gapi.Family
	if s.Config.HasFamily("ipv4") {
		out = append(out, v4)
	}
	if s.Config.HasFamily("ipv6") {
		out = append(out, v6)
	}
	return out
}

// sync brings GoBGP's table to the computed routes.
func (s *Speaker) sync(ctx context.Context) error {
	v, err := s.Source.View()
	if err != nil {
		return err
	}
	want := Routes(v, s.local())
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := make(map[netip.Prefix]Route, len(s.routes))
	for p, r := range s.routes {
		cur[p] = r.Route
	}
	add, withdraw := Diff(cur, want)
	s.expose(want, v.Physnets, false) // before announcing: traffic may follow at once
	for _, p := range withdraw {
		if err := s.server().DeletePath(ctx, &gapi.DeletePathRequest{TableType: gapi.TableType_GLOBAL, Uuid: s.routes[p].uuid}); err != nil {
			return fmt.Errorf("bgp: withdraw %s: %w", p, err)
		}
		s.Log.Info("bgp: withdrawn", "prefix", p, "kind", s.routes[p].Kind)
		delete(s.routes, p)
	}
	for _, r := range add {
		res, err := s.server().AddPath(ctx, &gapi.AddPathRequest{TableType: gapi.TableType_GLOBAL, Path: path(r)})
		if err != nil {
			return fmt.Errorf("bgp: announce %s: %w", r.Prefix, err)
		}
		s.Log.Info("bgp: announced", "prefix", r.Prefix, "next_hop", r.NextHop, "kind", r.Kind, "reason", r.Reason)
		s.routes[r.Prefix] = announced{Route: r, uuid: res.Uuid}
	}
	for _, r := range want { // reasons may change without the next hop
		a := s.routes[r.Prefix]
		a.Route = r
		s.routes[r.Prefix] = a
	}
	if len(withdraw) > 0 || !s.pruned { // after withdrawing; at start, the stale ones
		s.pruned = s.expose(want, v.Physnets, true)
	}
	return nil
}

// expose syncs the kernel routes (expose_routes), logging a failure (it
// is retried on the next sync); false on one.
func (s *Speaker) expose(want []Route, physnets map[string]string, prune bool) bool {
	if s.Expose == nil {
		return true
	}
	if err := s.Expose.Sync(want, physnets, prune); err != nil {
		s.Log.Warn("bgp: kernel routes (expose_routes)", "err", err)
		return false
	}
	return true
}

// path is a route as a GoBGP path: origin IGP, our next hop.
func path(r Route) *gapi.Path {
	nlri, _ := anypb.New(&gapi.IPAddressPrefix{Prefix: r.Prefix.Addr().String(), PrefixLen: uint32(r.Prefix.Bits())})
	origin, _ := anypb.New(&gapi.OriginAttribute{Origin: 0})
	if r.Prefix.Addr().Is4() {
		nh, _ := anypb.New(&gapi.NextHopAttribute{NextHop: r.NextHop.String()})
		return &gapi.Path{Family: v4, Nlri: nlri, Pattrs: []*anypb.Any{origin, nh}}
	}
	mp, _ := anypb.New(&gapi.MpReachNLRIAttribute{Family: v6, NextHops: []string{r.NextHop.String()}, Nlris: []*anypb.Any{nlri}})
	return &gapi.Path{Family: v6, Nlri: nlri, Pattrs: []*anypb.Any{origin, mp}}
}
