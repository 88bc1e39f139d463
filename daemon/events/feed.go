package events

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/apiview"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
)

// Networks, Routers and LBs are what the feed reads objects from (the
// stores the List RPCs read: the same views).
type Networks interface {
	Get(name string) (netstore.Network, error)
	List() ([]netstore.Network, error)
}

// Routers are the routers and floating IPs.
type Routers interface {
	Get(name string) (router.Router, error)
	List() ([]router.Router, error)
	GetFIP(addr netip.Addr) (router.FloatingIP, error)
	ListFIPs() ([]router.FloatingIP, error)
}

// Feed keeps a hub in step with the databases: cache events mark the
// objects a changed row shows (a port, its network, a floating IP...),
// and a loop rebuilds each marked object alone and hands it to the hub,
// which diffs it. Routers, floating IPs and load balancers — few — are
// rebuilt by kind when a row many of them derive from changes (a router
// port, a Southbound service monitor). A pass over everything at start
// and every Interval catches what no event said (rows deleted while
// Northbound was away).
type Feed struct {
	Hub      *Hub
	NB       *ovn.NB
	SB       *ovn.SB // nil: no Southbound (no binding facts)
	Networks Networks
	Routers  Routers // nil: no routers nor floating IPs
	LBs      LBs     // nil: no load balancers
	Interval time.Duration
	Log      *slog.Logger

	dirty    *marks
	fips     *fipIndex // the floating IPs of each port (with Routers)
	caches   [2]any    // NB's and SB's cache at the last check (ovs.Conn.CacheID)
	refilled bool      // one of them was refilled: rescan at the next check
}

// reconnected tells whether Northbound or Southbound refilled its cache
// since the last call: libovsdb does that on a reconnection without
// deletion events, so a pass over everything finds the rows deleted
// meanwhile. It answers at the call after the one that saw the new cache
// (a check interval later: the refill is done).
func (f *Feed) reconnected() bool {
	now := [2]any{f.NB.CacheID(nbdb.LogicalSwitchPortTable), nil}
	if f.SB != nil {
		now[1] = f.SB.CacheID(sbdb.PortBindingTable)
	}
	back := f.refilled && f.NB.Connected()
	if back {
		f.refilled = false
	}
	if now != f.caches {
		f.refilled = f.caches != [2]any{} || f.refilled
		f.caches = now
	}
	return back
}

// all marks every object of a kind.
const all = "*"

func mark(kind, name string) string { return kind + "/" + name }

// Run feeds the hub until ctx ends, then closes it. It waits for
// Northbound first; the hub is synced after the first full pass.
func (f *Feed) Run(ctx context.Context) {
	defer f.Hub.Close()
	if f.Log == nil {
		f.Log = slog.Default()
	}
	f.dirty, f.fips = newMarks(), newFIPIndex()
	f.NB.Subscribe(f.nbEvent)
	if f.SB != nil {
		f.SB.Subscribe(f.sbEvent)
	}
	for f.NB.WaitConnected(ctx) != nil {
		if ctx.Err() != nil {
			return
		}
	}
	f.reconnected()
	for !f.every() { // e.g. the cache still loading: soon again, not at the interval
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	f.dirty.run(ctx, f.Interval, f.reconnected, func() { f.every() }, f.one)
}

// every rebuilds everything and says the hub is synced once every kind
// could be read (false: one could not).
func (f *Feed) every() bool {
	ok := true
	for _, k := range Kinds {
		if !f.kind(k) {
			ok = false
			f.Log.Debug("events: cannot read this kind now; kept as it was", "kind", k)
		}
	}
	if ok {
		f.Hub.Synced()
	}
	return ok
}

// one rebuilds what a mark names.
func (f *Feed) one(m string) {
	kind, name, _ := strings.Cut(m, "/")
	if name == all {
		f.kind(kind)
		return
	}
	switch kind {
	case KindPort:
		f.port(name)
	case KindNetwork:
		n, err := f.Networks.Get(name)
		f.set(KindNetwork, name, err, func() *Object { return networkObject(n) })
	case KindFloatingIP:
		if f.Routers == nil {
			return
		}
		a, err := netip.ParseAddr(name)
		if err != nil {
			return
		}
		fip, err := f.Routers.GetFIP(a)
		f.set(KindFloatingIP, name, err, func() *Object { return fipObject(fip) })
	case KindLoadBalancer:
		if f.LBs == nil {
			return
		}
		l, err := f.LBs.Get(name)
		f.set(KindLoadBalancer, name, err, func() *Object { return f.lbObject(l) })
	default:
		f.kind(kind)
	}
}

// set hands the hub the object built, or deletes it when the store says
// it is not found; any other error (Northbound away) keeps what the hub
// has.
func (f *Feed) set(kind, name string, err error, build func() *Object) {
	switch {
	case err == nil:
		f.Hub.Set(build())
	case errs.Kind(err) == errs.NotFound:
		f.Hub.Delete(kind, name)
	}
}

// port rebuilds one port (O(1): its row and binding by index).
func (f *Feed) port(name string) {
	if f.NB.Ready() != nil {
		return // the pass after the reconnection has it
	}
	p, ok := f.NB.PortByName(name)
	if !ok || !p.Managed() {
		f.Hub.Delete(KindPort, name)
		return
	}
	var fips []netip.Addr
	if f.Routers != nil {
		fips = f.fips.of(name)
	}
	f.Hub.Set(f.portObject(p, fips))
}

func (f *Feed) portObject(p ovn.Port, fips []netip.Addr) *Object {
	var sb apiview.Bindings
	if f.SB != nil && f.SB.Connected() {
		sb = f.SB
	}
	return &Object{Kind: KindPort, Name: p.Name, Networks: []string{p.Network}, Msg: apiview.Port(p, sb, fips)}
}

func networkObject(n netstore.Network) *Object {
	msg := apiview.Network(n)
	return &Object{Kind: KindNetwork, Name: msg.Name, Networks: []string{msg.Name}, Msg: msg}
}

func routerObject(r router.Router) *Object {
	nets := append([]string(nil), r.Networks...)
	if r.Gateway != nil {
		nets = append(nets, r.Gateway.Network)
	}
	return &Object{Kind: KindRouter, Name: r.Name, Networks: nets, Msg: apiview.Router(r)}
}

func fipObject(fip router.FloatingIP) *Object {
	msg := apiview.FloatingIP(fip)
	return &Object{Kind: KindFloatingIP, Name: msg.Address, Networks: []string{fip.Network}, Msg: msg}
}

// kind rebuilds every object of a kind and deletes those gone; false when
// the kind could not be read.
func (f *Feed) kind(kind string) bool {
	var objs []*Object
	switch kind {
	case KindPort:
		if f.NB.Ready() != nil {
			return false
		}
		ports, err := f.NB.Ports(nil)
		if err != nil {
			return false
		}
		if f.Routers != nil {
			if rs, err := f.NB.ReservationsOf(keys.OwnerFIP); err == nil {
				f.fips.replace(rs)
			}
		}
		for _, p := range ports {
			var fips []netip.Addr
			if f.Routers != nil {
				fips = f.fips.of(p.Name)
			}
			objs = append(objs, f.portObject(p, fips))
		}
	case KindNetwork:
		ns, err := f.Networks.List()
		if err != nil {
			return false
		}
		for _, n := range ns {
			objs = append(objs, networkObject(n))
		}
	case KindRouter, KindFloatingIP:
		var err error
		if objs, err = f.routerKind(kind); err != nil {
			return false
		}
	case KindLoadBalancer:
		var err error
		if objs, err = f.lbKind(); err != nil {
			return false
		}
	default:
		return true
	}
	f.replace(kind, objs)
	return true
}

func (f *Feed) routerKind(kind string) ([]*Object, error) {
	if f.Routers == nil {
		return nil, nil
	}
	var objs []*Object
	if kind == KindRouter {
		rs, err := f.Routers.List()
		for _, r := range rs {
			objs = append(objs, routerObject(r))
		}
		return objs, err
	}
	fs, err := f.Routers.ListFIPs()
	for _, fip := range fs {
		objs = append(objs, fipObject(fip))
	}
	return objs, err
}

// replace sets objs as every object of kind.
func (f *Feed) replace(kind string, objs []*Object) {
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		seen[o.Name] = true
		f.Hub.Set(o)
	}
	for _, n := range f.Hub.Names(kind) {
		if !seen[n] {
			f.Hub.Delete(kind, n)
		}
	}
}

// nbEvent runs in the cache's goroutine: it only marks.
func (f *Feed) nbEvent(table string, old, cur model.Model) {
	switch table {
	case nbdb.LogicalSwitchPortTable:
		f.lspEvent(old, cur)
	case nbdb.LogicalSwitchTable:
		o, _ := old.(*nbdb.LogicalSwitch)
		c, _ := cur.(*nbdb.LogicalSwitch)
		for _, ls := range []*nbdb.LogicalSwitch{o, c} {
			if ls != nil && ls.ExternalIDs[keys.Network] != "" {
				f.dirty.Mark(mark(KindNetwork, ls.ExternalIDs[keys.Network]))
			}
		}
		if o == nil || c == nil || o.ExternalIDs[keys.Router] != c.ExternalIDs[keys.Router] {
			f.dirty.Mark(mark(KindRouter, all), mark(KindLoadBalancer, all))
		}
	case nbdb.DHCPOptionsTable:
		o, _ := old.(*nbdb.DHCPOptions)
		c, _ := cur.(*nbdb.DHCPOptions)
		for _, port := range f.fips.event(o, c) { // the index first: the ports' rebuilds read it
			f.dirty.Mark(mark(KindPort, port))
		}
		for _, d := range []*nbdb.DHCPOptions{o, c} {
			if d == nil {
				continue
			}
			if r, ok := ovn.ReservationOf(d); ok && r.Owner == keys.OwnerFIP {
				f.dirty.Mark(mark(KindFloatingIP, r.IP.String()))
			}
		}
	case nbdb.LoadBalancerTable:
		for _, x := range []model.Model{old, cur} {
			if row, _ := x.(*nbdb.LoadBalancer); row != nil {
				if n := row.ExternalIDs[keys.LB]; n != "" {
					f.dirty.Mark(mark(KindLoadBalancer, n))
				}
				if row.ExternalIDs[keys.Forward] != "" {
					f.dirty.Mark(mark(KindFloatingIP, all))
				}
			}
		}
	case nbdb.LoadBalancerHealthCheckTable:
		f.dirty.Mark(mark(KindLoadBalancer, all))
	case nbdb.LogicalRouterTable, nbdb.LogicalRouterPortTable, nbdb.LogicalRouterStaticRouteTable,
		nbdb.NATTable, nbdb.HAChassisGroupTable, nbdb.HAChassisTable:
		f.dirty.Mark(mark(KindRouter, all), mark(KindFloatingIP, all), mark(KindLoadBalancer, all))
	}
}

// lspEvent marks a port of QuantumNet's; its network too when the port
// comes or goes (the network's count of ports), and the load balancers
// when its addresses change (members are resolved from them).
func (f *Feed) lspEvent(old, cur model.Model) {
	o, _ := old.(*nbdb.LogicalSwitchPort)
	c, _ := cur.(*nbdb.LogicalSwitchPort)
	var nets []string
	for _, p := range []*nbdb.LogicalSwitchPort{o, c} {
		if p != nil && p.ExternalIDs[keys.Network] != "" {
			f.dirty.Mark(mark(KindPort, p.Name))
			nets = append(nets, p.ExternalIDs[keys.Network])
		}
	}
	if o == nil || c == nil || o.ExternalIDs[keys.Network] != c.ExternalIDs[keys.Network] {
		for _, n := range nets {
			f.dirty.Mark(mark(KindNetwork, n))
		}
	}
	if f.LBs != nil && (o == nil || c == nil || !slices.Equal(o.Addresses, c.Addresses)) && f.Hub.Count(KindLoadBalancer) > 0 {
		f.dirty.Mark(mark(KindLoadBalancer, all))
	}
}

// sbEvent marks the port a binding is of (its chassis, up, additional
// chassis, activation), a gateway's router, the load balancers (member
// health).
func (f *Feed) sbEvent(table string, old, cur model.Model) {
	switch table {
	case sbdb.PortBindingTable:
		for _, x := range []model.Model{old, cur} {
			pb, _ := x.(*sbdb.PortBinding)
			if pb == nil {
				continue
			}
			if strings.HasPrefix(pb.LogicalPort, keys.ChassisRedirectPref) {
				f.dirty.Mark(mark(KindRouter, all))
			} else {
				f.dirty.Mark(mark(KindPort, pb.LogicalPort))
			}
		}
	case sbdb.ServiceMonitorTable:
		f.dirty.Mark(mark(KindLoadBalancer, all))
	case sbdb.ChassisTable:
		if old == nil || cur == nil { // bindings show chassis by name
			f.dirty.Mark(mark(KindPort, all), mark(KindRouter, all))
		}
	}
}
