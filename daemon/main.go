// Command quantumnetd is QuantumNet's per-host daemon: it owns IPAM, OVN
// logical ports, OVS ports and the chassis configuration, and serves the
// CNI plugin, the qemu hook and qnetctl over a root-only unix socket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/attach"
	bnstore "github.com/quantumnet/quantumnet/daemon/bastion/nbstore"
	bastionwg "github.com/quantumnet/quantumnet/daemon/bastion/wg"
	"github.com/quantumnet/quantumnet/daemon/bgp"
	"github.com/quantumnet/quantumnet/daemon/chassis"
	"github.com/quantumnet/quantumnet/daemon/config"
	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/events"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/lport/lbmember"
	"github.com/quantumnet/quantumnet/daemon/lvwatch"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/portmap"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/daemon/trace"
	"github.com/quantumnet/quantumnet/daemon/vm"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apiserver"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quantumnetd:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("quantumnetd", flag.ContinueOnError)
	cfgPath := fs.String("config", config.DefaultPath, "config file (TOML); a missing default file means all defaults")
	socket := fs.String("socket", "", "override daemon.socket")
	level := fs.String("log-level", "", "override daemon.log_level (debug, info, warn, error)")
	format := fs.String("log-format", "text", "log format: text or json")
	check := fs.Bool("check-config", false, "validate the config, print it, and exit")
	example := fs.Bool("print-example-config", false, "print a commented example config and exit")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quantumnetd [flags]\n\nQuantumNet's per-host daemon. Flags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *version {
		fmt.Printf("quantumnetd %s (API %d)\n", server.Version, api.APIVersion)
		return nil
	}
	if *example {
		fmt.Print(config.Example)
		return nil
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	cfg, err := config.Load(*cfgPath, explicit)
	if err != nil {
		return err
	}
	if *socket != "" {
		cfg.Daemon.Socket = *socket
	}
	if *level != "" {
		cfg.Daemon.LogLevel = *level
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *check {
		fmt.Printf("config OK: chassis %s, NB %v, SB %v, OVS %s, socket %s\n", cfg.Chassis.Name, cfg.OVN.NBRemotes, cfg.OVN.SBRemotes, cfg.Chassis.OVSRemote, cfg.Daemon.Socket)
		return nil
	}
	lvl, _ := config.ParseLevel(cfg.Daemon.LogLevel)
	var h slog.Handler
	switch *format {
	case "json":
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})
	case "text":
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})
	default:
		return fmt.Errorf("-log-format: %q is not text or json", *format)
	}
	log := slog.New(h)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, log)
}

// parts are the daemon's wired components.
type parts struct {
	nb      *ovn.NB
	ovs     *ovs.Client
	sg      *sgstore.Manager
	attach  *attach.Manager
	vm      *vm.Manager
	server  *server.Server
	runner  *netsvc.Runner
	routers *rtstore.Manager
	lbs     *lbstore.Manager
	feed    *events.Feed
	bgp     *bgp.Speaker      // nil: [bgp] off
	bastion *bastionwg.Runner // runs the bastions whose router's gateway is active here
	wantDP  string            // the datapath type the chassis' bridge should have
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	obs := newObservability(cfg) // [http]: metrics, health, the web console (daemon/observe.go)
	p, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	slog.SetDefault(log) // the API server's panic log
	ls, err := apiserver.Listen(cfg.Daemon.Socket, p.server, append(obs.serverOptions(), grpc.ChainUnaryInterceptor(server.CheckLimits))...)
	if err != nil {
		return err
	}
	httpErr, err := obs.start(ctx, p, log)
	if err != nil {
		ls.Stop()
		return err
	}
	if p.bgp != nil { // before serving: a listen port in use stops the daemon
		if err := p.bgp.Start(ctx); err != nil {
			ls.Stop()
			return err
		}
	}
	log.Info("quantumnetd serving", "socket", cfg.Daemon.Socket, "chassis", cfg.Chassis.Name, "version", server.Version)

	if *cfg.Chassis.Manage {
		go chassis.Run(ctx, chassis.Config{
			Name: cfg.Chassis.Name, SBRemotes: cfg.OVN.SBRemotes, EncapType: cfg.Chassis.EncapType,
			EncapIP: cfg.Chassis.EncapIP, Bridge: cfg.Chassis.IntegrationBridge, DatapathType: p.wantDP, BridgeMappings: cfg.Chassis.BridgeMappings,
			CreateMappedBridges: cfg.Chassis.CreateMappedBridges,
		}, p.ovs, 2*time.Second, log)
	}
	runnerDone := make(chan struct{})
	var runnerStarted atomic.Bool
	go p.startUp(ctx, log, func() {
		runnerStarted.Store(true)
		go func() { p.runner.Run(ctx); close(runnerDone) }()
	})
	go p.feed.Run(ctx)                              // event streams: they end with ctx, so ls.Stop does not wait for them
	go p.attach.RunPendingDels(ctx, 30*time.Second) // DELs the CNI plugin recorded while we were away
	if *cfg.Libvirt.Enabled {
		go (&lvwatch.Watcher{URI: cfg.Libvirt.URI, VM: p.vm, Log: log}).Run(ctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- ls.Serve() }()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		sdNotify(log, "STOPPING=1")
		ls.Stop()
		if runnerStarted.Load() {
			select { // the resolver endpoints go down with it
			case <-runnerDone:
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	case err := <-errc:
		return err
	case err := <-httpErr:
		ls.Stop()
		return err
	}
}

// wire connects the databases and wires the components. The concrete
// types meet here; every consumer declares the small interface it needs
// of them.
func wire(ctx context.Context, cfg config.Config, log *slog.Logger) (*parts, error) {
	tlsCfg, err := cfg.TLS()
	if err != nil {
		return nil, err
	}
	ovsc, err := ovs.New(ctx, []string{cfg.Chassis.OVSRemote}, tlsCfg, log)
	if err != nil {
		return nil, err
	}
	var nbOpts []ovn.NBOption
	if cfg.OVN.LoadAllReservations {
		nbOpts = append(nbOpts, ovn.WholeMonitor())
	}
	nb, err := ovn.NewNB(ctx, cfg.OVN.NBRemotes, tlsCfg, log, nbOpts...)
	if err != nil {
		return nil, err
	}
	sb, err := ovn.NewSB(ctx, cfg.OVN.SBRemotes, tlsCfg, log)
	if err != nil {
		return nil, err
	}
	macPrefix, _ := cfg.MACPrefix()
	wantDP := cfg.Chassis.DatapathType
	if wantDP == "auto" {
		wantDP = "netdev"
		if _, err := os.Stat("/sys/module/openvswitch"); err == nil {
			wantDP = "system"
		}
	}
	bridge := cfg.Chassis.IntegrationBridge
	sgm := &sgstore.Manager{NB: nb, Log: log}
	store := &nbstore.Store{NB: nb, MACPrefix: macPrefix, Log: log}
	netstore.ForgetDeleted(nb, store.Forget)
	svc := &netsvc.Manager{NB: nb, Alloc: store, Log: log}
	routers := &rtstore.Manager{NB: nb, SB: sb, Alloc: store, MACPrefix: macPrefix, Log: log}
	if d := cfg.OVN.GatewayBFDInterval.Duration; d > 0 {
		mult := cfg.OVN.GatewayBFDMult
		if mult == 0 {
			mult = 3
		}
		routers.BFD = ovn.GatewayBFD(int(d.Milliseconds()), mult)
	}
	ports := &lport.Ports{NB: nb, Store: store, DHCP: svc, Groups: sgm, NAT: routers}
	mgr := &attach.Manager{
		NB: nb, SB: sb, OVS: ovsc, Ports: ports, Chassis: cfg.Chassis.Name, Bridge: bridge,
		Datapath: wantDP, ReadyTimeout: cfg.Daemon.ReadyTimeout.Duration, Log: log, DNS: svc,
		Controller: &chassis.ControllerProbe{Dirs: chassis.ControllerDirs(cfg.Chassis.OVSRemote)},
	}
	// Management ports get an address and nothing else: no DHCP, no
	// security group (the containers' groups decide what reaches them).
	mgmtPorts := &lport.Ports{NB: nb, Store: store}
	mgr.HostPorts = &portmap.Manager{NB: nb, Ports: mgmtPorts, OVS: ovsc, Chassis: cfg.Chassis.Name, Bridge: bridge,
		Datapath: wantDP, ReadyTimeout: cfg.Daemon.ReadyTimeout.Duration, Log: log.With("component", "portmap")}
	vms := &vm.Manager{NB: nb, OVS: ovsc, Ports: ports, Chassis: cfg.Chassis.Name, ReadyTimeout: cfg.Daemon.ReadyTimeout.Duration, Log: log,
		Groups: sgm}
	lbs := &lbstore.Manager{NB: nb, SB: sb, Alloc: store, Log: log.With("component", "lb"), MonitorMAC: svcMonitorMAC(macPrefix)}
	ports.LBs = &lbmember.Members{NB: nb, LBs: lbs} // CNI loadBalancers, VM load-balancers
	// A floating IP that load balancers' listeners are on is theirs: no
	// association, forward or deletion (the router store asks them).
	routers.FIPUsers = lbs.FIPUsers
	nets := &netstore.Manager{NB: nb, Services: svc, Groups: sgm, Users: users{routers, lbs}, Log: log}
	feed := &events.Feed{Hub: events.New(0), NB: nb, SB: sb, Networks: nets, Routers: routers, LBs: lbs, Interval: 30 * time.Second,
		Log: log.With("component", "events")}
	srv := &server.Server{Attach: mgr, Alloc: store, VM: vms, SG: sgm, Svc: svc, Networks: nets, Routers: routers, LBs: lbs, Events: feed.Hub,
		Log: log}
	bastions := wireBastions(nb, sb, ovsc, mgr, srv, routers, log)
	srv.Tracer = &trace.Tracer{NB: nb, SBRemotes: cfg.OVN.SBRemotes, SSLKey: cfg.OVN.SSLKey, SSLCert: cfg.OVN.SSLCert, SSLCA: cfg.OVN.SSLCA}
	runner := &netsvc.Runner{M: svc, Upstream: upstream(cfg.DNS.Upstream)}
	if *cfg.DNS.Resolver {
		resolver := &qndns.Resolver{Log: log}
		runner.Endpoints = &netsvc.Endpoints{NB: nb, OVS: ovsc, Bridge: bridge, Resolver: resolver, Log: log, Datapath: wantDP}
		resolver.Upstream = runner.Endpoints.Upstream
	}
	return &parts{nb: nb, ovs: ovsc, sg: sgm, attach: mgr, vm: vms, server: srv, runner: runner, routers: routers, lbs: lbs, feed: feed, bastion: bastions, wantDP: wantDP,
		bgp: newBGP(cfg, srv, routers, nets, nb, sb, log)}, nil
}

// startUp reconciles once both databases are reachable, retrying until it
// succeeds; then ADD is served and the background loops start (run starts
// the network services' runner).
func (p *parts) startUp(ctx context.Context, log *slog.Logger, run func()) {
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := p.nb.WaitConnected(wctx)
		if err == nil { // the reservations of the networks with ports here load before ADDs are served, others when read
			var nets []string
			if nets, err = p.nb.LocalNetworks(p.attach.Chassis); err == nil {
				err = p.nb.NeedNetworks(wctx, nets...)
			}
		}
		if err == nil {
			err = p.ovs.WaitConnected(wctx)
		}
		if err == nil {
			err = p.attach.Reconcile(wctx)
		}
		if err == nil {
			err = p.sg.Sync(wctx)
		}
		cancel()
		if err == nil {
			p.attach.Reconciled.Store(true)
			log.Info("start-up reconcile done")
			sdNotify(log, "READY=1\nSTATUS=serving")
			go p.sg.Run(ctx, 30*time.Second)
			go (&rtstore.Runner{M: p.routers, Interval: 30 * time.Second}).Run(ctx)
			go (&lbstore.Reconciler{M: p.lbs, Interval: 30 * time.Second}).Run(ctx)
			if p.bgp != nil {
				go func() {
					if err := p.bgp.Run(ctx); err != nil {
						log.Error("bgp speaker stopped", "err", err)
					}
				}()
			}
			go p.bastion.Run(ctx)
			run()
			return
		}
		log.Warn("start-up reconcile failed, retrying", "err", err)
		sdNotify(log, "STATUS=start-up reconcile failed, retrying: "+err.Error())
		time.Sleep(time.Second)
	}
}

// newBGP wires the BGP speaker when [bgp] is on: it follows both
// databases' caches and serves GetBGP.
func newBGP(cfg config.Config, srv *server.Server, routers *rtstore.Manager, nets *netstore.Manager, nb *ovn.NB, sb *ovn.SB, log *slog.Logger) *bgp.Speaker {
	if !cfg.BGP.Enabled() {
		return nil
	}
	sp := &bgp.Speaker{Config: cfg.BGP, Chassis: cfg.Chassis.Name, Source: bgp.Stores{Routers: routers, Networks: nets, SB: sb},
		Interval: 30 * time.Second, Log: log.With("component", "bgp")}
	if cfg.BGP.ExposeRoutes {
		sp.Expose = &bgp.Exposer{Bridges: cfg.Bridges(), Log: sp.Log}
	}
	sp.Follow(nb, sb)
	srv.BGP = sp
	return sp
}

// wireBastions: the bastions' store serves the RPCs; their data plane runs
// the ones whose router's gateway is active here, kicked by Northbound
// switch and Southbound binding changes.
func wireBastions(nb *ovn.NB, sb *ovn.SB, ovsc *ovs.Client, mgr *attach.Manager, srv *server.Server, routers *rtstore.Manager, log *slog.Logger) *bastionwg.Runner {
	store := &bnstore.Manager{NB: nb, Routers: routers, Log: log.With("component", "bastion")}
	r := &bastionwg.Runner{Store: store, Ports: ovsc, Bridge: mgr.Bridge, Chassis: mgr.Chassis, Interval: 30 * time.Second,
		TxCsumOff: func() bool { return mgr.DatapathType() == "netdev" }, Log: log.With("component", "bastion")}
	srv.Bastions, srv.BastionStats = store, r
	kick := func(table string, _, _ model.Model) {
		if table == "Logical_Switch" || table == "Port_Binding" || table == "Logical_Router_Port" {
			r.Kick()
		}
	}
	nb.Subscribe(kick)
	sb.Subscribe(kick)
	return r
}

// upstream writes configured upstream servers as IP:PORT.
func upstream(in []string) []string {
	var out []string
	for _, u := range in {
		if a, err := netip.ParseAddr(u); err == nil {
			u = netip.AddrPortFrom(a, 53).String()
		}
		out = append(out, u)
	}
	return out
}

// users are everything that keeps a network from being deleted beyond its
// ports: routers and floating IPs, load balancers.
type users []netstore.Users

func (u users) NetworkInUse(name string) error {
	for _, x := range u {
		if err := x.NetworkInUse(name); err != nil {
			return err
		}
	}
	return nil
}

// svcMonitorMAC is the source MAC of OVN's health probes (NB_Global
// options:svc_monitor_mac): the MAC prefix with bit 2 of its first octet
// flipped (still unicast, locally administered), so outside the prefix
// IPAM draws ports' MACs from.
func svcMonitorMAC(p [3]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:00:00:01", p[0]^0x04, p[1], p[2])
}
