package wg

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/daemon/bastion/nbstore"
	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Store reads bastions and the subnets of networks (bastion/nbstore).
type Store interface {
	List() ([]bastion.Bastion, error)
	Subnets(networks []string) []netip.Prefix
}

// Ports plugs the inside leg into the integration bridge (pkg/ovs.Client).
type Ports interface {
	AddPort(ctx context.Context, bridge, name string, ifaceIDs, portIDs map[string]string) error
	DeletePort(ctx context.Context, bridge, name string) error
}

// Runner runs the bastions whose router's gateway is active on this
// chassis, and stops the others: on every Kick (Northbound and Southbound
// changes) and every Interval.
type Runner struct {
	Store     Store
	Ports     Ports
	Bridge    string
	Chassis   string
	TxCsumOff func() bool // the userspace datapath needs TX checksum offload off
	Interval  time.Duration
	Log       *slog.Logger

	once    sync.Once
	kick    chan struct{}
	mu      sync.Mutex
	running map[string]*Instance
	applied map[string]string // the grants last set on each running device
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.kick = make(chan struct{}, 1)
		r.running = map[string]*Instance{}
		r.applied = map[string]string{}
	})
}

// Kick asks for a sync soon (never blocks).
func (r *Runner) Kick() {
	r.init()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends, then stops every bastion it runs.
func (r *Runner) Run(ctx context.Context) {
	r.init()
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.Sync(ctx)
		select {
		case <-ctx.Done():
			r.mu.Lock()
			for name := range r.running {
				r.stop(context.Background(), name)
			}
			r.mu.Unlock()
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Sync starts, updates and stops bastions once.
func (r *Runner) Sync(ctx context.Context) {
	r.init()
	all, err := r.Store.List()
	if err != nil {
		r.Log.Debug("bastions not read", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	here := map[string]bool{}
	for _, b := range all {
		if b.Active != r.Chassis || r.Chassis == "" {
			continue
		}
		here[b.Name] = true
		if err := r.ensure(ctx, b); err != nil {
			r.Log.Warn("bastion not running", "bastion", b.Name, "err", err)
		}
	}
	for name := range r.running {
		if !here[name] {
			r.stop(ctx, name)
		}
	}
}

func hostVeth(name string) string { return "qnv" + name }

// nsName is the bastion's namespace on this chassis (the chassis in the
// name: hosts that share /run/netns, as test sandboxes do, never collide).
func (r *Runner) nsName(name string) string { return bastion.IfName(name) + "-" + r.Chassis }

func (r *Runner) ensure(ctx context.Context, b bastion.Bastion) error {
	in := r.running[b.Name]
	if in == nil {
		var err error
		if in, err = r.start(ctx, b); err != nil {
			r.cleanup(ctx, b.Name)
			return err
		}
		r.running[b.Name] = in
		r.Log.Info("bastion started here", "bastion", b.Name, "endpoint", b.Endpoint)
	}
	grants := make([]Grant, 0, len(b.Peers))
	var sig strings.Builder
	for _, p := range b.Peers {
		g := Grant{Peer: p, Subnets: r.Store.Subnets(p.Networks)}
		grants = append(grants, g)
		fmt.Fprintf(&sig, "%s %v;", bastion.EncodePeer(p), g.Subnets)
	}
	if r.applied[b.Name] == sig.String() {
		return nil
	}
	if err := in.SetPeers(grants); err != nil {
		return err
	}
	r.applied[b.Name] = sig.String()
	return nil
}

func (r *Runner) start(ctx context.Context, b bastion.Bastion) (*Instance, error) {
	ns := r.nsName(b.Name)
	if err := EnsureNS(ns); err != nil {
		return nil, err
	}
	rtr, inside := nbstore.Transit(b)
	mac, _ := net.ParseMAC(nbstore.TransitMAC(inside))
	yes := true
	hostnet.DeleteHostVeth(hostVeth(b.Name)) //nolint:errcheck // a previous run's
	if _, err := hostnet.SetupVeth(hostnet.VethSpec{HostName: hostVeth(b.Name), ContName: "inside", Netns: "/var/run/netns/" + ns,
		MAC: mac, MTU: 1400, Addrs: []netip.Prefix{inside}, Gateways: []netip.Addr{rtr.Addr()},
		TxCsumOff: r.TxCsumOff != nil && r.TxCsumOff(), DefaultRoute: &yes}); err != nil {
		return nil, fmt.Errorf("inside leg: %w", err)
	}
	if err := r.Ports.AddPort(ctx, r.Bridge, hostVeth(b.Name), map[string]string{"iface-id": "qnbp-" + b.Name},
		map[string]string{keys.Bastion: b.Name}); err != nil {
		return nil, fmt.Errorf("inside leg's OVS port: %w", err)
	}
	return Start(b, ns, r.Log)
}

// stop stops bastion name's device and removes its namespace and port.
func (r *Runner) stop(ctx context.Context, name string) {
	if in := r.running[name]; in != nil {
		in.Close()
	}
	delete(r.running, name)
	delete(r.applied, name)
	r.cleanup(ctx, name)
	r.Log.Info("bastion stopped here", "bastion", name)
}

func (r *Runner) cleanup(ctx context.Context, name string) {
	r.Ports.DeletePort(ctx, r.Bridge, hostVeth(name))        //nolint:errcheck // may be gone
	hostnet.DeleteHostVeth(hostVeth(name))                   //nolint:errcheck
	exec.Command("ip", "netns", "del", r.nsName(name)).Run() //nolint:errcheck
}

// PeerStats returns the peers of bastion name if it runs here.
func (r *Runner) PeerStats(name string) map[bastion.Key]bastion.PeerStat {
	r.init()
	r.mu.Lock()
	in := r.running[name]
	r.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.Stats()
}
