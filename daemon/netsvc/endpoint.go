package netsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Endpoints are this chassis' resolver endpoints, one per network with a
// resolver: a network namespace of the daemon's own (unnamed: it dies with
// the daemon, and its veth with it) holding the resolver's addresses on a
// veth whose other end is an OVS port bound to the network's localport, and
// the resolver serving on its sockets. Each chassis answers its own ports.
type Endpoints struct {
	NB       *ovn.NB
	OVS      *ovs.Client
	Bridge   string
	Datapath string // the integration bridge's intended datapath type (netdev: TX checksum offload off)
	Resolver *qndns.Resolver
	Log      *slog.Logger

	mu  sync.Mutex
	eps map[string]*endpoint
}

type endpoint struct {
	network string
	key     string // MAC, addresses and MTU it was made for
	host    string // the OVS side of the veth
	ns      netns.NsHandle
	socks   []closer
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	records atomic.Pointer[qndns.Records]
	up      atomic.Pointer[[]string]
}

type closer interface{ Close() error }

// ResolverIfname is the OVS side of a network's resolver veth.
func ResolverIfname(netName string) string {
	h := sha256.Sum256([]byte("quantumnet-resolver:" + netName))
	return "qnd" + hex.EncodeToString(h[:])[:11]
}

// Upstream returns the upstream servers of a network's resolver.
func (e *Endpoints) Upstream(netName string) []string {
	e.mu.Lock()
	ep := e.eps[netName]
	e.mu.Unlock()
	if ep == nil {
		return nil
	}
	if u := ep.up.Load(); u != nil {
		return *u
	}
	return nil
}

// Sync makes the endpoint of a network what Northbound says (made, remade
// after an address change, or removed), and gives it the current records:
// hosts, and services (by label).
func (e *Endpoints) Sync(ctx context.Context, netName string, spec *network.Spec, res Resolvers, hosts []Host, svcs map[string]qndns.Service, upstream []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eps == nil {
		e.eps = map[string]*endpoint{}
	}
	ep := e.eps[netName]
	if spec == nil || (!res.V4.IsValid() && !res.V6.IsValid()) {
		if ep != nil {
			e.remove(ctx, ep)
			delete(e.eps, netName)
		}
		return nil
	}
	key := fmt.Sprintf("%s %s %s %d", ResolverMAC(netName), res.V4, res.V6, spec.MTU)
	if ep != nil && ep.key != key {
		e.remove(ctx, ep)
		delete(e.eps, netName)
		ep = nil
	}
	recs := &qndns.Records{Domain: spec.DNSDomain, Hosts: map[string][]netip.Addr{}, Services: svcs}
	for _, s := range []netip.Prefix{spec.Subnet4, spec.Subnet6} {
		if s.IsValid() {
			recs.Subnets = append(recs.Subnets, s)
		}
	}
	for _, h := range hosts {
		recs.Hosts[h.Label] = append(recs.Hosts[h.Label], h.Addrs...)
	}
	if ep == nil {
		var err error
		if ep, err = e.create(ctx, netName, key, *spec, res); err != nil {
			return err
		}
		e.eps[netName] = ep
	}
	ep.records.Store(recs)
	up := append([]string(nil), upstream...)
	ep.up.Store(&up)
	return nil
}

func (e *Endpoints) create(ctx context.Context, netName, key string, spec network.Spec, res Resolvers) (ep *endpoint, err error) {
	ep = &endpoint{network: netName, key: key, host: ResolverIfname(netName)}
	defer func() {
		if err != nil {
			e.remove(ctx, ep)
		}
	}()
	if err := ep.openSockets(res); err != nil {
		return ep, err
	}
	if err := e.plug(ctx, ep, spec, res); err != nil {
		return ep, err
	}
	e.serve(ctx, ep)
	e.Log.Info("resolver endpoint up", "network", netName, "v4", res.V4, "v6", res.V6, "veth", ep.host)
	return ep, nil
}

// openSockets makes the namespace of ep and the sockets in it (bound to
// every address of the namespace, which holds the resolver's addresses
// alone): a UDP and a TCP socket per family of res, in that order.
func (ep *endpoint) openSockets(res Resolvers) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	h, err := netns.New()
	if err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	ep.ns = h
	defer netns.Set(orig)
	if lo, err := netlink.LinkByName("lo"); err == nil {
		_ = netlink.LinkSetUp(lo)
	}
	for _, a := range []netip.Addr{res.V4, res.V6} {
		if !a.IsValid() {
			continue
		}
		udp, tcp := "udp4", "tcp4"
		if a.Is6() {
			udp, tcp = "udp6", "tcp6"
		}
		pc, err := net.ListenPacket(udp, ":53")
		if err != nil {
			return fmt.Errorf("resolver socket: %w", err)
		}
		ep.socks = append(ep.socks, pc)
		l, err := net.Listen(tcp, ":53")
		if err != nil {
			return fmt.Errorf("resolver socket: %w", err)
		}
		ep.socks = append(ep.socks, l)
	}
	return nil
}

// plug gives the namespace of ep the resolver's addresses on a veth whose
// host side is an OVS port bound to the network's resolver port.
func (e *Endpoints) plug(ctx context.Context, ep *endpoint, spec network.Spec, res Resolvers) error {
	mac, _ := net.ParseMAC(ResolverMAC(ep.network))
	var addrs []netip.Prefix
	if res.V4.IsValid() {
		addrs = append(addrs, netip.PrefixFrom(res.V4, spec.Subnet4.Bits()))
	}
	if res.V6.IsValid() {
		addrs = append(addrs, netip.PrefixFrom(res.V6, spec.Subnet6.Bits()))
	}
	if _, err := hostnet.SetupVeth(hostnet.VethSpec{
		HostName: ep.host, ContName: "eth0", Netns: fmt.Sprintf("/proc/self/fd/%d", int(ep.ns)),
		MAC: mac, MTU: spec.MTU, Addrs: addrs, TxCsumOff: e.OVS.DatapathType(e.Bridge, e.Datapath) == "netdev",
	}); err != nil {
		return err
	}
	ifaceIDs := map[string]string{ovs.KeyIfaceID: ResolverName(ep.network), ovs.KeyAttachedMAC: mac.String()}
	portIDs := map[string]string{keys.Resolver: ep.network}
	_ = e.OVS.DeletePort(ctx, e.Bridge, ep.host) // a stale one, from a daemon that died
	return e.OVS.AddPort(ctx, e.Bridge, ep.host, ifaceIDs, portIDs)
}

// serve runs the resolver on each UDP and TCP socket pair of ep until
// ep.cancel.
func (e *Endpoints) serve(ctx context.Context, ep *endpoint) {
	netName := ep.network
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ep.cancel = cancel
	records := func() *qndns.Records { return ep.records.Load() }
	for i := 0; i+1 < len(ep.socks); i += 2 {
		pc, l := ep.socks[i].(net.PacketConn), ep.socks[i+1].(net.Listener)
		ep.wg.Add(1)
		go func() {
			defer ep.wg.Done()
			if err := e.Resolver.Serve(sctx, netName, pc, l, records); err != nil && sctx.Err() == nil {
				e.Log.Warn("resolver stopped", "network", netName, "err", err)
			}
		}()
	}
}

// remove takes an endpoint down: the resolver, its OVS port, the veth and
// the namespace.
func (e *Endpoints) remove(ctx context.Context, ep *endpoint) {
	if ep.cancel != nil {
		ep.cancel()
	}
	for _, s := range ep.socks {
		s.Close()
	}
	ep.wg.Wait()
	_ = e.OVS.DeletePort(context.WithoutCancel(ctx), e.Bridge, ep.host)
	_ = hostnet.DeleteHostVeth(ep.host)
	if ep.ns != 0 {
		ep.ns.Close()
	}
	e.Log.Info("resolver endpoint down", "network", ep.network)
}

// Prune removes the endpoints of networks not in keep, and OVS ports of
// resolvers left by an earlier daemon.
func (e *Endpoints) Prune(ctx context.Context, keep map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for n, ep := range e.eps {
		if !keep[n] {
			e.remove(ctx, ep)
			delete(e.eps, n)
		}
	}
	ports, err := e.OVS.ListPorts(nil)
	if err != nil {
		return
	}
	for _, p := range ports {
		n := p.ExternalIDs[keys.Resolver]
		if n == "" || e.eps[n] != nil && e.eps[n].host == p.Name {
			continue
		}
		if strings.HasPrefix(p.Name, "qnd") {
			_ = e.OVS.DeletePort(ctx, e.Bridge, p.Name)
			_ = hostnet.DeleteHostVeth(p.Name)
		}
	}
}

// Close takes every endpoint down (daemon exit).
func (e *Endpoints) Close(ctx context.Context) {
	e.Prune(ctx, nil)
}
