package attach

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/portmap"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovs/vswitchd"
)

// resultOf rebuilds the Result of an existing port.
func resultOf(p ovn.Port, spec network.Spec) (*Result, error) {
	if p.MAC == nil {
		return nil, fmt.Errorf("logical port %s has no addresses", p.Name)
	}
	res := &Result{Port: p.Name, HostIfname: p.HostIfname, MAC: p.MAC, MTU: spec.MTU, DNSDomain: spec.DNSDomain}
	for _, a := range p.IPs {
		if a.Is4() && spec.Subnet4.IsValid() {
			res.Addrs = append(res.Addrs, netip.PrefixFrom(a, spec.Subnet4.Bits()))
			res.Gateways = append(res.Gateways, spec.Gateway4)
		} else if a.Is6() && spec.Subnet6.IsValid() {
			res.Addrs = append(res.Addrs, netip.PrefixFrom(a, spec.Subnet6.Bits()))
			res.Gateways = append(res.Gateways, spec.Gateway6)
		}
	}
	return res, nil
}

// existing returns the result of an attachment that is complete.
func (m *Manager) existing(p ovn.Port, r Request, spec network.Spec) (*Result, error) {
	if p.ContainerID != r.ContainerID || p.Network != r.Network || p.Netns != r.Netns ||
		ovn.FormatPortMappings(p.PortMappings) != ovn.FormatPortMappings(r.PortMappings) {
		return nil, errors.New("different attachment")
	}
	res, err := resultOf(p, spec)
	if err != nil {
		return nil, err
	}
	if err := m.check(p, r, res); err != nil {
		return nil, err
	}
	if res.DefaultVia, err = hostnet.DefaultGateways(r.Netns, r.Ifname); err != nil {
		return nil, err
	}
	return res, nil
}

// Check verifies the attachment: logical port, OVS port, interface and addresses.
func (m *Manager) Check(ctx context.Context, r Request) error {
	if err := r.Validate("CHECK"); err != nil {
		return err
	}
	if err := m.waitReconciled(ctx); err != nil {
		return err
	}
	defer m.lock(r.ContainerID, r.Ifname)()
	name, _ := m.names(r)
	p, err := m.NB.LookupPort(name)
	if err != nil {
		return fmt.Errorf("%w: logical port %s of container %s/%s is missing in OVN", errs.NotFound, name, r.ContainerID, r.Ifname)
	}
	ls, err := m.NB.GetSwitch(r.Network)
	if err != nil {
		return fmt.Errorf("%w: network %q", errs.NotFound, r.Network)
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	res, err := resultOf(p, spec)
	if err != nil {
		return err
	}
	for _, want := range r.IPs {
		a, err := netip.ParseAddr(strings.SplitN(want, "/", 2)[0])
		if err != nil {
			return fmt.Errorf("%w: prevResult: %q is not an IP address", errs.Invalid, want)
		}
		found := false
		for _, have := range res.Addrs {
			found = found || have.Addr() == a
		}
		if !found {
			return fmt.Errorf("address %s of the previous result is not the address of logical port %s (%v)", a, p.Name, res.Addrs)
		}
	}
	return m.check(p, r, res)
}

func (m *Manager) check(p ovn.Port, r Request, res *Result) error {
	if p.Network != r.Network {
		return fmt.Errorf("logical port %s belongs to network %q, not %q", p.Name, p.Network, r.Network)
	}
	iface, err := m.OVS.GetInterface(res.HostIfname)
	if err != nil {
		return fmt.Errorf("%w: OVS interface %s is missing from %s", errs.NotFound, res.HostIfname, m.Bridge)
	}
	if iface.ExternalIDs[ovs.KeyIfaceID] != p.Name {
		return fmt.Errorf("OVS interface %s has iface-id %q, want %q", res.HostIfname, iface.ExternalIDs[ovs.KeyIfaceID], p.Name)
	}
	if !hostnet.HostVethExists(res.HostIfname) {
		return fmt.Errorf("%w: host interface %s is missing", errs.NotFound, res.HostIfname)
	}
	if err := hostnet.CheckVeth(r.Netns, r.Ifname, res.MAC, res.Addrs); err != nil {
		return fmt.Errorf("%w: %v", errs.NotFound, err)
	}
	if len(p.PortMappings) > 0 && m.HostPorts != nil {
		return m.HostPorts.Check(p.Name)
	}
	return nil
}

// Attachment names one container attachment.
type Attachment struct{ ContainerID, Ifname string }

// GC removes this chassis' attachments of cniNetwork that are not in valid.
func (m *Manager) GC(ctx context.Context, cniNetwork string, valid []Attachment) ([]Attachment, error) {
	if p := m.Ready(); !m.NB.Connected() || !m.OVS.Connected() {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(p, "; "))
	}
	if err := m.waitReconciled(ctx); err != nil {
		return nil, err
	}
	keep := map[Attachment]bool{}
	for _, a := range valid {
		keep[a] = true
	}
	ports, err := m.NB.Ports(map[string]string{keys.Kind: keys.KindContainer, keys.Chassis: m.Chassis, keys.CNINetwork: cniNetwork})
	if err != nil {
		return nil, err
	}
	var removed []Attachment
	var fails []error
	for _, p := range ports {
		a := Attachment{p.ContainerID, p.Ifname}
		if keep[a] {
			continue
		}
		if err := m.removeLocked(ctx, p, HostIfname("", a.ContainerID, a.Ifname)); err != nil {
			fails = append(fails, err)
			continue
		}
		removed = append(removed, a)
	}
	return removed, errors.Join(fails...)
}

// Reconcile repairs or removes what a crash may have left on this chassis:
// OVS ports and veths whose logical port is gone are removed; logical ports
// of this chassis whose namespace or veth is gone are removed; a live
// container whose OVS port was lost gets it back. Run it at start, before
// serving. It fails only when the databases cannot be read: a row it
// cannot handle is logged, skipped and reported (Problems), and local
// attachments made against another Northbound database (or when
// Northbound is empty) are kept, not torn down, and reported.
func (m *Manager) Reconcile(ctx context.Context) error {
	cur, err := m.NB.DatabaseID(ctx)
	if err != nil {
		return err
	}
	m.setNBID(cur)
	ports, err := m.OVS.ListPorts(nil)
	if err != nil {
		return err
	}
	lsps, err := m.NB.Ports(map[string]string{keys.Kind: keys.KindContainer, keys.Chassis: m.Chassis})
	if err != nil {
		return err
	}
	all, err := m.NB.PortsShallow()
	if err != nil {
		return err
	}
	var problems []string
	problem := func(format string, args ...any) {
		msg := "reconcile: " + fmt.Sprintf(format, args...)
		m.Log.Warn(msg)
		problems = append(problems, msg)
	}
	held := 0
	for _, p := range ports {
		name := p.ExternalIDs[keys.Port]
		if name == "" || p.ExternalIDs[keys.ContainerID] == "" {
			continue
		}
		kept, err := m.reconcileOVSPort(ctx, name, p, cur, len(all) == 0)
		if kept {
			held++
		}
		if err != nil {
			problem("OVS port %s without logical port not removed: %v", p.Name, err)
		}
	}
	if held > 0 {
		problem("%d local attachment(s) have no logical port in a Northbound database unlike the one "+
			"they were attached against (%q now): kept, not torn down; restore that database, or DEL them", held, cur)
	}
	var entries []portmap.Entry
	for _, p := range lsps {
		if err := m.reconcileLocked(ctx, p); err != nil {
			problem("logical port %s skipped: %v", p.Name, err)
			continue
		}
		if len(p.PortMappings) > 0 && hostnet.HostVethExists(p.HostIfname) {
			entries = append(entries, m.entryOf(p.Name, p.Network, p.ContainerID, p.Ifname, m.mtuOf(p.Network), p.IPs, p.PortMappings))
		}
	}
	if m.HostPorts != nil {
		if err := m.HostPorts.Reconcile(ctx, entries); err != nil {
			problem("host port mappings: %v", err)
		}
	}
	if err := m.sweepVeths(ports, lsps); err != nil {
		problem("veths left by a crash: %v", err)
	}
	m.setProblems(problems)
	return nil
}

// vethGroup is the link group marking the host end of this chassis'
// container veths: a hash of the chassis and its OVS database's root row
// (two daemons on one host, as in tests, never sweep each other's). 0 (no
// mark, no sweep) while OVS is unknown.
func (m *Manager) vethGroup() uint32 {
	root, err := m.OVS.Root()
	if err != nil || root.UUID == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte("quantumnet:" + m.Chassis + ":" + root.UUID))
	return max(h.Sum32(), 1)
}

// sweepVeths removes this chassis' container veths that neither an OVS
// port nor a local logical port names: an ADD creates its veth pair while
// its logical port is written, so a crash then leaves a pair no record
// knows. It runs at start, before any ADD.
func (m *Manager) sweepVeths(ports []vswitchd.Port, lsps []ovn.Port) error {
	group := m.vethGroup()
	if group == 0 {
		return nil
	}
	names, err := hostnet.HostVethsInGroup(group)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, p := range ports {
		known[p.Name] = true
	}
	for _, p := range lsps {
		known[p.HostIfname] = true
	}
	var fails []error
	for _, n := range names {
		if known[n] {
			continue
		}
		m.Log.Info("reconcile: removing a veth no record names (left by a crash during an ADD)", "veth", n)
		fails = append(fails, hostnet.DeleteHostVeth(n))
	}
	return errors.Join(fails...)
}

// mtuOf is the MTU of network (0 when unknown: the interface's default).
func (m *Manager) mtuOf(name string) int {
	ls, err := m.NB.GetSwitch(name)
	if err != nil {
		return 0
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return 0
	}
	return spec.MTU
}

// reconcileOVSPort removes the OVS port p (and its veth) if its logical
// port name is gone, under the attachment's lock — unless the port was
// attached against another Northbound than cur (or Northbound is empty):
// then it is kept (kept true) for an operator to decide.
func (m *Manager) reconcileOVSPort(ctx context.Context, name string, p vswitchd.Port, cur string, nbEmpty bool) (kept bool, err error) {
	defer m.lock(p.ExternalIDs[keys.ContainerID], p.ExternalIDs[keys.Ifname])()
	if _, err := m.NB.LookupPort(name); !errors.Is(err, errs.NotFound) {
		return false, nil
	}
	if why := heldBecause(p.ExternalIDs[keys.NBID], cur, nbEmpty); why != "" {
		m.Log.Warn("reconcile: keeping OVS port without logical port", "port", p.Name, "why", why)
		return true, nil
	}
	m.Log.Info("reconcile: removing OVS port without logical port", "port", p.Name)
	return false, errors.Join(m.OVS.DeletePort(ctx, m.Bridge, p.Name), hostnet.DeleteHostVeth(p.Name))
}

// reconcileLocked reconciles p under its attachment's lock, from the port
// as it is then: a DEL that ran meanwhile is not undone.
func (m *Manager) reconcileLocked(ctx context.Context, p ovn.Port) error {
	defer m.lock(p.ContainerID, p.Ifname)()
	p, err := m.NB.LookupPort(p.Name)
	if errors.Is(err, errs.NotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	return m.reconcilePort(ctx, p)
}

// removeLocked removes the attachment of port p (host: its host interface
// if the port does not record one) under its lock, if it still exists.
func (m *Manager) removeLocked(ctx context.Context, p ovn.Port, host string) error {
	defer m.lock(p.ContainerID, p.Ifname)()
	if _, err := m.NB.LookupPort(p.Name); errors.Is(err, errs.NotFound) {
		return nil
	}
	return m.remove(ctx, p.Name, hostOf(p, host))
}

// reconcilePort keeps a container port of this chassis whose namespace and
// veth are alive (re-adding its OVS port if lost) and removes it otherwise.
func (m *Manager) reconcilePort(ctx context.Context, p ovn.Port) error {
	host := p.HostIfname
	_, nsErr := os.Stat(p.Netns)
	if nsErr == nil && hostnet.HostVethExists(host) {
		if _, err := m.OVS.GetPort(host); err == nil {
			return nil
		}
		// The container is alive but its OVS port was lost (crash between
		// veth and OVS port, or an OVS database reset): put it back.
		m.Log.Info("reconcile: re-adding lost OVS port", "port", p.Name, "host_ifname", host)
		mac := ""
		if p.MAC != nil {
			mac = p.MAC.String()
		}
		_, err := m.addOVSPort(ctx, p.Name, host, p.ContainerID, p.Ifname, mac)
		return err
	}
	m.Log.Info("reconcile: removing broken attachment", "port", p.Name, "netns", p.Netns, "veth_present", hostnet.HostVethExists(host))
	return m.remove(ctx, p.Name, host)
}
