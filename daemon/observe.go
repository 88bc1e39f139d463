package main

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/daemon/config"
	"github.com/quantumnet/quantumnet/daemon/console"
	"github.com/quantumnet/quantumnet/daemon/httpapi"
	"github.com/quantumnet/quantumnet/daemon/metrics"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// observability is the opt-in HTTP listener with its metrics; nil when
// [http] listen is not set (every method is then a no-op).
type observability struct {
	cfg config.HTTP
	m   *metrics.Metrics
}

// newObservability makes the registry before the databases are dialled
// (their client metrics go to it); nil with the listener off.
func newObservability(cfg config.Config) *observability {
	if !cfg.HTTP.Enabled() {
		return nil
	}
	o := &observability{cfg: cfg.HTTP, m: metrics.New()}
	ovs.MetricsRegistry = o.m.Registry
	return o
}

// serverOptions time the CNI and hook calls.
func (o *observability) serverOptions() []grpc.ServerOption {
	if o == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(o.m.UnaryInterceptor())}
}

// start hooks the observers into the parts, and serves /metrics, /healthz
// and /readyz until ctx ends; the channel gets the listener's failure (it
// stops the daemon: the operator asked for the listener).
func (o *observability) start(ctx context.Context, p *parts, log *slog.Logger) (<-chan error, error) {
	if o == nil {
		return nil, nil
	}
	p.attach.Observer, p.sg.Observer, p.vm.Observer = o.m, o.m, o.m
	p.vm.SB = p.attach.SB // the migration's network gap: its ports active here
	if e := p.runner.Endpoints; e != nil && e.Resolver != nil {
		e.Resolver.Observer = o.m
	}
	o.m.Watch(metrics.Sources{IPAM: p.pools, Ports: p.portStates, Connected: map[string]func() bool{
		"nb": p.nb.Connected, "sb": p.attach.SB.Connected, "ovs": p.ovs.Connected,
	}})
	h, err := httpapi.New(o.cfg, func(ctx context.Context) (bool, []string) {
		st, err := p.server.Status(ctx, &api.StatusRequest{})
		if err != nil {
			return false, []string{err.Error()}
		}
		return st.Ready, st.Problems
	}, log.With("component", "http"))
	if err != nil {
		return nil, err
	}
	h.Handle("GET /metrics", o.m.Handler())
	if err := o.mountConsole(ctx, h, p, log); err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() { // only a failure: the end of ctx is the daemon's own
		if err := h.Serve(ctx); err != nil {
			errc <- err
		}
	}()
	return errc, nil
}

// mountConsole mounts the web console ([http] console) on the listener.
func (o *observability) mountConsole(ctx context.Context, h *httpapi.Server, p *parts, log *slog.Logger) error {
	if !o.cfg.Console {
		return nil
	}
	opts := console.Options{Server: p.server, Chassis: p.attach.Chassis, Secure: h.TLS(), Done: ctx,
		LoopbackHosts: o.cfg.Loopback() && !h.HasToken(), Log: log.With("component", "console")}
	if h.HasToken() {
		opts.TokenMatches = h.TokenMatches
	}
	c, err := console.New(opts)
	if err != nil {
		return err
	}
	c.Mount(h.Handle)
	return nil
}

// pools are the IPAM pools of the networks whose reservations this host
// has loaded (with ports here, or used through it), read at scrape time: a
// scrape must not load every network's (pkg/ovn scope).
func (p *parts) pools() []metrics.Pool {
	nets, err := p.server.Networks.List()
	if err != nil {
		return nil
	}
	var out []metrics.Pool
	for _, n := range nets {
		if !p.nb.InScope(n.Name) {
			continue
		}
		us, err := p.server.Alloc.Show(n.Name)
		if err != nil {
			continue
		}
		for _, u := range us {
			out = append(out, metrics.Pool{Network: n.Name, Subnet: u.Subnet.String(), Used: u.Used, Free: u.Free})
		}
	}
	return out
}

// portStates are this chassis' ports, read at scrape time.
func (p *parts) portStates() []metrics.PortState {
	ports, err := p.nb.Ports(map[string]string{keys.Chassis: p.attach.Chassis})
	if err != nil {
		return nil
	}
	out := make([]metrics.PortState, len(ports))
	for i, pt := range ports {
		out[i] = metrics.PortState{Kind: pt.Kind, Up: pt.Up}
	}
	return out
}
