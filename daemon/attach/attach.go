// Package attach owns the lifecycle of a container attachment: its logical
// port with its address (through daemon/lport), its veth pair
// (daemon/hostnet) and its OVS port, created with rollback, removed
// idempotently, checked and garbage-collected.
package attach

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/portmap"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// ErrUnavailable: the daemon cannot serve ADD yet.
var ErrUnavailable = errs.New(errs.Unavailable, "not ready")

// Manager creates and removes container attachments on this chassis.
type Manager struct {
	NB      *ovn.NB
	SB      *ovn.SB
	Ports   *lport.Ports
	OVS     *ovs.Client
	Chassis string
	Bridge  string
	// Datapath is the datapath type the integration bridge is meant to have
	// (netdev, system): what counts while the bridge does not exist yet.
	Datapath     string
	ReadyTimeout time.Duration
	Log          *slog.Logger
	// DNS, if set, tells the DNS servers a container is told about.
	DNS DNS
	// HostPorts, if set, serves port mappings (daemon/portmap); without
	// it an ADD with port mappings is refused.
	HostPorts HostPorts

	// Controller, if set, tells whether ovn-controller is alive
	// (daemon/chassis.ControllerProbe): a dead one makes ADD fail fast.
	Controller interface{ Check() error }

	// Observer, if set, is told the phases of each successful ADD
	// (daemon/metrics).
	Observer Observer

	// PendingDelDir is where the CNI plugin records the DELs the daemon
	// could not take ("": api.PendingDelDir's default).
	PendingDelDir string

	// Reconciled is set once the start-up Reconcile ran; ADD is refused
	// before, DEL, CHECK and GC wait for it.
	Reconciled atomic.Bool

	// locks serializes ADD, DEL, CHECK and reconcile per attachment
	// (container ID, ifname).
	locks keylock.Map

	reconcileState
}

// DNS is what attach needs of a network's services (daemon/netsvc).
type DNS interface {
	DNSServersFor(ls *nbdb.LogicalSwitch, spec network.Spec) []netip.Addr
}

// Observer is told how long the steps of a successful ADD took: the
// Northbound transaction, the veth pair, the OVS port, the wait for
// ovn-controller's flows.
type Observer interface {
	AddPhases(nb, veth, ovs, flows time.Duration)
}

// HostPorts maps host ports to attachments (daemon/portmap).
type HostPorts interface {
	Claim(port, owner string, mappings []ovn.PortMapping) (release func(), err error)
	Add(ctx context.Context, e portmap.Entry) error
	Remove(ctx context.Context, port string) error
	Check(port string) error
	Reconcile(ctx context.Context, entries []portmap.Entry) error
}

// Request is one CNI ADD/DEL/CHECK.
type Request struct {
	ContainerID string
	Ifname      string
	Netns       string
	Network     string
	CNINetwork  string
	IPs         []string
	MAC         string
	// SecurityGroups (normalized: sorted, no duplicates) go on the port
	// with it; none: the network's default.
	SecurityGroups []string
	// DNSName is the port's DNS label (<DNSName>.<network domain>), if any.
	DNSName string
	// PortMappings are host ports to map to the container (CNI
	// portMappings); ADD normalizes them (portmap.Normalize).
	PortMappings []ovn.PortMapping
	// DefaultRoute: whether the interface gets the default routes; nil:
	// only for a family the namespace has none of yet (hostnet.VethSpec).
	DefaultRoute *bool
	// LoadBalancers the port joins as a member once it is ready (CNI
	// loadBalancers; normalized). Checked before anything is made.
	LoadBalancers []string
}

// Result is what ADD configured.
type Result struct {
	Port       string
	HostIfname string
	MAC        net.HardwareAddr
	MTU        int
	Addrs      []netip.Prefix
	Gateways   []netip.Addr
	// DefaultVia are the gateways the interface's default routes go
	// through (none: another interface of the container has them).
	DefaultVia []netip.Addr
	DNSDomain  string
	DNSServers []netip.Addr
}

var ifnameRE = regexp.MustCompile(`^[^/\s:]{1,15}$`)

// Validate checks the request for verb ("ADD", "DEL", "CHECK").
func (r *Request) Validate(verb string) error {
	if r.ContainerID == "" {
		return fmt.Errorf("%w: CNI_CONTAINERID is required", errs.Invalid)
	}
	if r.Ifname == "" || !ifnameRE.MatchString(r.Ifname) || r.Ifname == "." || r.Ifname == ".." {
		return fmt.Errorf("%w: CNI_IFNAME %q is not a valid interface name", errs.Invalid, r.Ifname)
	}
	if verb == "DEL" {
		return nil
	}
	if r.Network == "" {
		return fmt.Errorf("%w: network: the CNI config field \"network\" is required", errs.Invalid)
	}
	if r.Netns == "" {
		return fmt.Errorf("%w: CNI_NETNS is required", errs.Invalid)
	}
	if _, err := os.Stat(r.Netns); err != nil {
		return fmt.Errorf("%w: CNI_NETNS %s: %v", errs.Invalid, r.Netns, err)
	}
	if verb == "ADD" {
		ms, err := portmap.Normalize(r.PortMappings)
		if err != nil {
			return err
		}
		r.PortMappings = ms
	}
	return nil
}

// want parses the request's addresses and MAC.
func (r *Request) want() (nbstore.Want, error) {
	var want nbstore.Want
	for _, ip := range r.IPs {
		a, err := netip.ParseAddr(strings.SplitN(ip, "/", 2)[0])
		if err != nil {
			return want, fmt.Errorf("%w: ips: %q is not an IP address", errs.Invalid, ip)
		}
		want.IPs = append(want.IPs, a)
	}
	if r.MAC != "" {
		mac, err := net.ParseMAC(r.MAC)
		if err != nil || len(mac) != 6 {
			return want, fmt.Errorf("%w: mac: %q is not an Ethernet address", errs.Invalid, r.MAC)
		}
		want.MAC = mac
	}
	return want, nil
}

// Ready reports what keeps the manager from serving ADD (nil when ready).
func (m *Manager) Ready() []string {
	var problems []string
	if !m.NB.Connected() {
		problems = append(problems, "not connected to OVN Northbound")
	}
	if !m.OVS.Connected() {
		problems = append(problems, "not connected to the local OVS database")
	} else if _, err := m.OVS.GetBridge(m.Bridge); err != nil {
		problems = append(problems, fmt.Sprintf("integration bridge %s does not exist", m.Bridge))
	}
	if !m.SB.Connected() {
		problems = append(problems, "not connected to OVN Southbound")
	} else if !m.SB.ChassisRegistered(m.Chassis) {
		problems = append(problems, fmt.Sprintf("chassis %s is not registered in Southbound (is ovn-controller running?)", m.Chassis))
	} else if m.Controller != nil {
		if err := m.Controller.Check(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 && !m.Reconciled.Load() {
		problems = append(problems, "reconciling state after start")
	}
	return problems
}

// dnsServers are the DNS servers of the network's containers.
func (m *Manager) dnsServers(ls *nbdb.LogicalSwitch, spec network.Spec) []netip.Addr {
	if m.DNS == nil {
		return nil
	}
	return m.DNS.DNSServersFor(ls, spec)
}

// Add attaches the container; any failure undoes every step taken.
func (m *Manager) Add(ctx context.Context, r Request) (res *Result, err error) {
	start := time.Now()
	if err := r.Validate("ADD"); err != nil {
		return nil, err
	}
	if len(r.PortMappings) > 0 && m.HostPorts == nil {
		return nil, fmt.Errorf("%w: portMappings: host port mappings are not enabled on this daemon", errs.Invalid)
	}
	if p := m.Ready(); len(p) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(p, "; "))
	}
	defer m.lock(r.ContainerID, r.Ifname)()
	// A DEL recorded while the daemon was away is older than this ADD.
	if err := api.RemovePendingDel(api.PendingDelDir(m.PendingDelDir), r.ContainerID, r.Ifname); err != nil {
		m.Log.Warn("removing a pending DEL record", "container", r.ContainerID, "ifname", r.Ifname, "err", err)
	}
	ls, err := m.NB.GetSwitch(r.Network)
	if err != nil {
		return nil, fmt.Errorf("network %q does not exist (create it with: qnetctl network create %s ...): %w", r.Network, r.Network, errs.NotFound)
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return nil, err
	}
	if err := m.Ports.CheckLoadBalancers(r.Network, r.LoadBalancers); err != nil {
		return nil, err
	}
	name, _ := m.names(r)
	log := m.Log.With("port", name, "container", r.ContainerID, "ifname", r.Ifname, "network", r.Network)

	// A previous ADD of the same attachment: answer it again if complete,
	// otherwise clear its remains and start over.
	if old, err := m.NB.LookupPort(name); err == nil {
		if res, err := m.existing(old, r, spec); err == nil {
			log.Info("ADD of an existing attachment: returning it")
			if err := m.Ports.JoinLoadBalancers(ctx, old.Name, r.LoadBalancers); err != nil {
				return nil, err
			}
			res.DNSServers = m.dnsServers(ls, spec)
			return res, nil
		}
		if err := m.del(ctx, r); err != nil {
			return nil, err
		}
		name = PortName(m.Chassis, r.ContainerID, r.Ifname)
		log = log.With("port", name)
	}
	var undo undoStack
	defer func() {
		if err != nil {
			undo.run()
			log.Warn("ADD failed, rolled back", "err", err)
		}
	}()
	want, err := r.want()
	if err != nil {
		return nil, err
	}
	if res, err = m.attach(ctx, r, want, spec, &undo, log.With("prep", time.Since(start))); err != nil {
		return nil, err
	}
	res.DNSServers = m.dnsServers(ls, spec)
	return res, nil
}

// undoStack runs what it holds in reverse order.
type undoStack []func()

func (u *undoStack) push(f func()) { *u = append(*u, f) }

func (u undoStack) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// attach takes the steps of ADD: the logical port with its address, the
// veth pair, the OVS port, the wait for ovn-controller's flows, then the
// load balancers it joins (in rotation once ready). Each step pushes its
// undo (a failed join takes back its own memberships).
func (m *Manager) attach(ctx context.Context, r Request, want nbstore.Want, spec network.Spec, undo *undoStack, log *slog.Logger) (*Result, error) {
	name, host := PortName(m.Chassis, r.ContainerID, r.Ifname), HostIfname(m.Chassis, r.ContainerID, r.Ifname)
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	undo.push(cancel)
	t0 := time.Now()
	if len(r.PortMappings) > 0 {
		release, err := m.HostPorts.Claim(name, r.ContainerID+"/"+r.Ifname, r.PortMappings)
		if err != nil {
			return nil, err
		}
		undo.push(release)
	}
	vspec := hostnet.VethSpec{HostName: host, ContName: r.Ifname, Netns: r.Netns, MTU: spec.MTU,
		TxCsumOff: m.DatapathType() == "netdev", DefaultRoute: r.DefaultRoute, Group: m.vethGroup()}
	claim, ph, err := m.portAndVeth(ctx, m.portOf(r, name, host), want, vspec, undo, cleanup)
	if err != nil {
		return nil, err
	}
	tNB := time.Now()
	res := &Result{Port: name, HostIfname: host, MAC: claim.MAC, MTU: spec.MTU, Addrs: claim.Addrs, Gateways: claim.Gateways, DNSDomain: spec.DNSDomain}
	vspec.MAC, vspec.Addrs, vspec.Gateways = res.MAC, res.Addrs, res.Gateways
	info, ot, err := m.ovsAndVeth(ctx, r, name, vspec, undo, cleanup)
	if err != nil {
		return nil, err
	}
	res.DefaultVia = info.DefaultVia
	if len(r.PortMappings) > 0 {
		if err = m.HostPorts.Add(ctx, m.entryOf(name, r.Network, r.ContainerID, r.Ifname, res.MTU, claim.IPs(), r.PortMappings)); err != nil {
			return nil, err
		}
		undo.push(func() { _ = m.HostPorts.Remove(cleanup, name) })
	}
	if err = m.Ports.JoinLoadBalancers(ctx, name, r.LoadBalancers); err != nil {
		return nil, err
	}
	// prep: validation, lookups and the attachment's lock before t0;
	// ipam includes waiting for the network's lock (ADDs on one network
	// commit one at a time); veth_create ran alongside ipam+nbtxn, nb is
	// until both ended; veth (the container end's configuration) ran
	// alongside ovs (the insert; ovs_batch: ports in its transaction) and
	// installed (the wait for flows), veth_wait is what it added after.
	log.Info("attached", "addresses", res.Addrs, "mac", res.MAC.String(), "ipam", ph.IPAM, "nbtxn", ph.Txn,
		"veth_create", ph.veth, "nb", tNB.Sub(t0), "veth", ot.veth, "ovs", ot.insert, "ovs_batch", ot.batch,
		"installed", ot.flows, "veth_wait", ot.vethWait, "total", time.Since(t0))
	if m.Observer != nil {
		m.Observer.AddPhases(tNB.Sub(t0), ot.veth, ot.insert, ot.flows)
	}
	return res, nil
}

// createTimes are the times of portAndVeth's two halves.
type createTimes struct {
	lport.CreateTimes
	veth time.Duration
}

// portAndVeth creates the logical port (IPAM and the Northbound
// transaction) and, at the same time, the veth pair, which needs no
// address yet (hostnet.CreateVeth; ConfigureVeth completes it). Both
// push their undo; a failure of either undoes both.
func (m *Manager) portAndVeth(ctx context.Context, p ovn.Port, want nbstore.Want, vs hostnet.VethSpec, undo *undoStack, cleanup context.Context) (*nbstore.Claim, createTimes, error) {
	var ph createTimes
	vs.MAC = want.MAC // nil: the claim's, set by ConfigureVeth
	vethErr := make(chan error, 1)
	go func() {
		t := time.Now()
		_, err := hostnet.CreateVeth(vs)
		ph.veth = time.Since(t)
		vethErr <- err
	}()
	claim, err := m.Ports.CreateTimed(ctx, p, want, &ph.CreateTimes)
	if err == nil {
		undo.push(func() { _ = m.Ports.Delete(cleanup, p.Name) })
	}
	verr := <-vethErr
	if verr == nil {
		undo.push(func() { _ = hostnet.DeleteHostVeth(vs.HostName) })
	}
	if err != nil {
		return nil, ph, err
	}
	return claim, ph, verr
}

// ovsTimes are the times of ovsAndVeth's parts; batch is how many ports
// the OVS transaction carried.
type ovsTimes struct {
	veth, vethWait, insert, flows time.Duration
	batch                         int
}

// ovsAndVeth adds the OVS port and waits for ovn-controller's flows while
// the container end of the veth is configured (hostnet.ConfigureVeth:
// neither OVS nor ovn-controller needs it). It returns once both ended.
func (m *Manager) ovsAndVeth(ctx context.Context, r Request, name string, vs hostnet.VethSpec, undo *undoStack, cleanup context.Context) (hostnet.VethInfo, ovsTimes, error) {
	var t ovsTimes
	type configured struct {
		info hostnet.VethInfo
		err  error
	}
	done := make(chan configured, 1)
	go func() {
		t0 := time.Now()
		info, err := hostnet.ConfigureVeth(vs)
		t.veth = time.Since(t0)
		done <- configured{info, err}
	}()
	err := m.ovsPortInstalled(ctx, name, vs.HostName, r, vs.MAC.String(), &t, undo, cleanup)
	tWait := time.Now()
	c := <-done
	t.vethWait = time.Since(tWait)
	if err != nil {
		return c.info, t, err
	}
	return c.info, t, c.err
}

// ovsPortInstalled adds the OVS port (pushing its undo) and waits for its
// flows.
func (m *Manager) ovsPortInstalled(ctx context.Context, name, host string, r Request, mac string, t *ovsTimes, undo *undoStack, cleanup context.Context) error {
	t0 := time.Now()
	batch, err := m.addOVSPort(ctx, name, host, r.ContainerID, r.Ifname, mac)
	if err != nil {
		return err
	}
	undo.push(func() { _ = m.OVS.DeletePort(cleanup, m.Bridge, host) })
	t1 := time.Now()
	t.insert, t.batch = t1.Sub(t0), batch
	wctx, cancel := context.WithTimeout(ctx, m.ReadyTimeout)
	defer cancel()
	err = m.OVS.WaitInstalled(wctx, host)
	t.flows = time.Since(t1)
	return err
}

// addOVSPort adds the host end of an attachment to the integration bridge,
// bound to its logical port, in one transaction with the ports of the ADDs
// arriving at the same time (ovs.Client.BatchedAddPort: they share one
// ovs-vswitchd reconfiguration); batch is how many ports it carried.
func (m *Manager) addOVSPort(ctx context.Context, name, host, containerID, ifname, mac string) (batch int, err error) {
	ifaceIDs := map[string]string{ovs.KeyIfaceID: name, ovs.KeyAttachedMAC: mac, keys.Port: name}
	return m.OVS.BatchedAddPort(ctx, ovs.NewPort{Bridge: m.Bridge, Name: host, IfaceIDs: ifaceIDs, PortIDs: m.portIDs(name, containerID, ifname)})
}

// portOf is the logical port of an attachment (its addresses come from
// its claim).
func (m *Manager) portOf(r Request, name, host string) ovn.Port {
	return ovn.Port{
		Name: name, Network: r.Network, Kind: keys.KindContainer, ContainerID: r.ContainerID,
		Ifname: r.Ifname, Netns: r.Netns, CNINetwork: r.CNINetwork, Chassis: m.Chassis, HostIfname: host,
		SecurityGroups: r.SecurityGroups, DNSName: r.DNSName, RequestedChassis: m.Chassis, PortMappings: r.PortMappings,
	}
}

// entryOf is the port mapping entry of an attachment.
func (m *Manager) entryOf(port, network, containerID, ifname string, mtu int, addrs []netip.Addr, ms []ovn.PortMapping) portmap.Entry {
	return portmap.Entry{Port: port, Owner: "container " + containerID + "/" + ifname, Network: network, MTU: mtu, Addrs: addrs, Mappings: ms}
}

// Del removes the attachment; missing pieces are not errors, so DEL is
// idempotent and works without a netns. It waits for the start-up
// reconcile (which could otherwise re-add what it removes) and never
// deletes a port of another chassis.
func (m *Manager) Del(ctx context.Context, r Request) error {
	if err := r.Validate("DEL"); err != nil {
		return err
	}
	if err := m.waitReconciled(ctx); err != nil {
		return err
	}
	defer m.lock(r.ContainerID, r.Ifname)()
	return m.del(ctx, r)
}

// del is Del under the attachment's lock.
func (m *Manager) del(ctx context.Context, r Request) error {
	name, host := m.names(r)
	return m.remove(ctx, name, host)
}

// remove deletes the OVS port, the veth and the logical port of an
// attachment of this chassis; a logical port of another chassis is left
// alone (and nothing else is touched).
func (m *Manager) remove(ctx context.Context, name, host string) error {
	if !m.OVS.Connected() {
		return fmt.Errorf("%w: not connected to the local OVS database", ErrUnavailable)
	}
	if p, err := m.NB.LookupPort(name); err == nil {
		if other := m.foreign(p); other != "" {
			return errForeign(p, other)
		}
	}
	if m.HostPorts != nil {
		if err := m.HostPorts.Remove(ctx, name); err != nil {
			return fmt.Errorf("host port mappings of %s: %w", name, err)
		}
	}
	if err := m.OVS.DeletePort(ctx, m.Bridge, host); err != nil {
		return err
	}
	if err := hostnet.DeleteHostVeth(host); err != nil {
		return fmt.Errorf("delete veth %s: %w", host, err)
	}
	if _, err := m.NB.LookupPort(name); err == nil || !m.NB.Connected() {
		if !m.NB.Connected() {
			return fmt.Errorf("%w: not connected to OVN Northbound", ErrUnavailable)
		}
		if err := m.Ports.Delete(ctx, name); err != nil {
			return err
		}
	}
	m.Log.Info("detached", "port", name, "host_ifname", host)
	return nil
}

// DatapathType is the integration bridge's datapath type: with the
// userspace one (netdev) TX checksum offload must go off on the veths.
func (m *Manager) DatapathType() string { return m.OVS.DatapathType(m.Bridge, m.Datapath) }
