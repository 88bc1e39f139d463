// Package attach owns the lifecycle of a container attachment: its address,
// its OVN logical port, its veth pair and its OVS port, created with
// rollback, removed idempotently, checked and garbage-collected.
package attach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quantumnet/quantumnet/daemon/alloc"
	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Errors the server maps to protocol codes.
var (
	ErrInvalid     = alloc.ErrInvalid
	ErrNotFound    = ovn.ErrNotFound
	ErrUnavailable = errs.New(errs.Unavailable, "not ready")
	ErrExhausted   = ipam.ErrExhausted
	ErrConflict    = alloc.ErrConflict
)

// Manager creates and removes container attachments on this chassis.
type Manager struct {
	NB           *ovn.NB
	SB           *ovn.SB
	Alloc        *alloc.Allocator
	OVS          *ovs.Client
	Chassis      string
	Bridge       string
	Netdev       func() bool // userspace datapath: TX checksum offload must go off
	ReadyTimeout time.Duration
	MACPrefix    [3]byte
	Log          *slog.Logger
	// Services, if set, give a network's DHCP rows (for a new port to refer
	// to) and the DNS servers a container is told about.
	Services Services

	// Reconciled is set once the start-up Reconcile ran; ADD waits for it.
	Reconciled atomic.Bool
}

// Services are what attach needs of a network's services (daemon/netsvc).
type Services interface {
	PortDHCP(network string) (v4, v6 *string)
	DNSServersFor(ls *nbdb.LogicalSwitch, spec network.Spec) []netip.Addr
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
}

// Result is what ADD configured.
type Result struct {
	Port       string
	HostIfname string
	MAC        net.HardwareAddr
	MTU        int
	Addrs      []netip.Prefix
	Gateways   []netip.Addr
	DNSDomain  string
	DNSServers []netip.Addr
}

var ifnameRE = regexp.MustCompile(`^[^/\s:]{1,15}$`)

// Validate checks the request for verb ("ADD", "DEL", "CHECK").
func (r *Request) Validate(verb string) error {
	if r.ContainerID == "" {
		return fmt.Errorf("%w: CNI_CONTAINERID is required", ErrInvalid)
	}
	if r.Ifname == "" || !ifnameRE.MatchString(r.Ifname) || r.Ifname == "." || r.Ifname == ".." {
		return fmt.Errorf("%w: CNI_IFNAME %q is not a valid interface name", ErrInvalid, r.Ifname)
	}
	if verb == "DEL" {
		return nil
	}
	if r.Network == "" {
		return fmt.Errorf("%w: network: the CNI config field \"network\" is required", ErrInvalid)
	}
	if r.Netns == "" {
		return fmt.Errorf("%w: CNI_NETNS is required", ErrInvalid)
	}
	if _, err := os.Stat(r.Netns); err != nil {
		return fmt.Errorf("%w: CNI_NETNS %s: %v", ErrInvalid, r.Netns, err)
	}
	return nil
}

// PortName is the deterministic LSP name of an attachment, and HostIfname the
// name of its host veth end (15 characters at most).
func PortName(containerID, ifname string) string {
	return "qn-c-" + attachHash(containerID, ifname)[:24]
}

// HostIfname is the host-side veth name of an attachment.
func HostIfname(containerID, ifname string) string {
	return "qnc" + attachHash(containerID, ifname)[:12]
}

func attachHash(containerID, ifname string) string {
	h := sha256.Sum256([]byte(containerID + "/" + ifname))
	return hex.EncodeToString(h[:])
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
	}
	if len(problems) == 0 && !m.Reconciled.Load() {
		problems = append(problems, "reconciling state after start")
	}
	return problems
}

// Add attaches the container; any failure undoes every step taken.
func (m *Manager) Add(ctx context.Context, r Request) (res *Result, err error) {
	if err := r.Validate("ADD"); err != nil {
		return nil, err
	}
	if p := m.Ready(); len(p) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(p, "; "))
	}
	ls, err := m.NB.GetSwitch(r.Network)
	if err != nil {
		return nil, fmt.Errorf("network %q does not exist (create it with: qnetctl network create %s ...): %w", r.Network, r.Network, ErrNotFound)
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return nil, err
	}
	name, host := PortName(r.ContainerID, r.Ifname), HostIfname(r.ContainerID, r.Ifname)
	log := m.Log.With("port", name, "container", r.ContainerID, "ifname", r.Ifname, "network", r.Network)

	// A previous ADD of the same attachment: answer it again if complete,
	// otherwise clear its remains and start over.
	if old, err := m.NB.GetPort(name); err == nil {
		if res, err := m.existing(old, r, spec); err == nil {
			log.Info("ADD of an existing attachment: returning it")
			if m.Services != nil {
				res.DNSServers = m.Services.DNSServersFor(ls, spec)
			}
			return res, nil
		}
		if err := m.Del(ctx, r); err != nil {
			return nil, err
		}
	}

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			log.Warn("ADD failed, rolled back", "err", err)
		}
	}()
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	undo = append(undo, cancel)

	want := alloc.Want{}
	for _, ip := range r.IPs {
		a, err := netip.ParseAddr(strings.SplitN(ip, "/", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("%w: ips: %q is not an IP address", ErrInvalid, ip)
		}
		want.IPs = append(want.IPs, a)
	}
	if r.MAC != "" {
		mac, err := net.ParseMAC(r.MAC)
		if err != nil || len(mac) != 6 {
			return nil, fmt.Errorf("%w: mac: %q is not an Ethernet address", ErrInvalid, r.MAC)
		}
		want.MAC = mac
	}
	t0 := time.Now()
	claim, err := m.Alloc.CreatePort(ctx, r.Network, want, name, func(cl *alloc.Claim) *nbdb.LogicalSwitchPort {
		return m.portRow(r, cl, name, host)
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = m.Alloc.DeletePort(cleanup, name) })
	tNB := time.Now()
	res = &Result{Port: name, HostIfname: host, MAC: claim.MAC, MTU: spec.MTU, Addrs: claim.Addrs, Gateways: claim.Gateways, DNSDomain: spec.DNSDomain}
	if m.Services != nil {
		res.DNSServers = m.Services.DNSServersFor(ls, spec)
	}

	if _, err = hostnet.SetupVeth(hostnet.VethSpec{
		HostName: host, ContName: r.Ifname, Netns: r.Netns, MAC: res.MAC, MTU: res.MTU,
		Addrs: res.Addrs, Gateways: res.Gateways, TxCsumOff: m.Netdev(),
	}); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = hostnet.DeleteHostVeth(host) })
	tVeth := time.Now()

	ids := map[string]string{keys.Port: name, keys.ContainerID: r.ContainerID, keys.Ifname: r.Ifname}
	ifaceIDs := map[string]string{ovs.KeyIfaceID: name, ovs.KeyAttachedMAC: res.MAC.String(), keys.Port: name}
	if err = m.OVS.AddPort(ctx, m.Bridge, host, ifaceIDs, ids); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = m.OVS.DeletePort(cleanup, m.Bridge, host) })
	tOVS := time.Now()

	wctx, wcancel := context.WithTimeout(ctx, m.ReadyTimeout)
	defer wcancel()
	if err = m.OVS.WaitInstalled(wctx, host); err != nil {
		return nil, err
	}
	log.Info("attached", "addresses", res.Addrs, "mac", res.MAC.String(),
		"nb", tNB.Sub(t0), "veth", tVeth.Sub(tNB), "ovs", tOVS.Sub(tVeth), "installed", time.Since(tOVS), "total", time.Since(t0))
	return res, nil
}

// portRow builds the logical port of an attachment from its claim.
func (m *Manager) portRow(r Request, cl *alloc.Claim, name, host string) *nbdb.LogicalSwitchPort {
	addr := cl.MAC.String()
	for _, p := range cl.Addrs {
		addr += " " + p.Addr().String()
	}
	lsp := &nbdb.LogicalSwitchPort{
		Name:         name,
		Addresses:    []string{addr},
		PortSecurity: []string{addr},
		Options:      map[string]string{keys.OptRequestedChassis: m.Chassis},
		ExternalIDs: map[string]string{
			keys.Network: r.Network, keys.Kind: keys.KindContainer, keys.ContainerID: r.ContainerID,
			keys.Ifname: r.Ifname, keys.Netns: r.Netns, keys.CNINetwork: r.CNINetwork,
			keys.Chassis: m.Chassis, keys.HostIfname: host,
		},
	}
	if len(r.SecurityGroups) > 0 {
		lsp.ExternalIDs[keys.SecurityGroups] = strings.Join(r.SecurityGroups, ",")
	}
	if r.DNSName != "" {
		lsp.ExternalIDs[keys.DNSName] = r.DNSName
	}
	if m.Services != nil {
		lsp.Dhcpv4Options, lsp.Dhcpv6Options = m.Services.PortDHCP(r.Network)
	}
	return lsp
}

// resultOf rebuilds the Result of an existing LSP.
func resultOf(lsp *nbdb.LogicalSwitchPort, spec network.Spec) (*Result, error) {
	if len(lsp.Addresses) == 0 {
		return nil, fmt.Errorf("logical port %s has no addresses", lsp.Name)
	}
	f := strings.Fields(lsp.Addresses[0])
	mac, err := net.ParseMAC(f[0])
	if err != nil {
		return nil, fmt.Errorf("logical port %s: bad MAC %q", lsp.Name, f[0])
	}
	res := &Result{Port: lsp.Name, HostIfname: lsp.ExternalIDs[keys.HostIfname], MAC: mac, MTU: spec.MTU, DNSDomain: spec.DNSDomain}
	for _, s := range f[1:] {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
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
func (m *Manager) existing(lsp *nbdb.LogicalSwitchPort, r Request, spec network.Spec) (*Result, error) {
	if lsp.ExternalIDs[keys.ContainerID] != r.ContainerID || lsp.ExternalIDs[keys.Network] != r.Network || lsp.ExternalIDs[keys.Netns] != r.Netns {
		return nil, errors.New("different attachment")
	}
	res, err := resultOf(lsp, spec)
	if err != nil {
		return nil, err
	}
	if err := m.check(lsp, r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Del removes the attachment; missing pieces are not errors, so DEL is
// idempotent and works without a netns.
func (m *Manager) Del(ctx context.Context, r Request) error {
	if err := r.Validate("DEL"); err != nil {
		return err
	}
	name, host := PortName(r.ContainerID, r.Ifname), HostIfname(r.ContainerID, r.Ifname)
	return m.remove(ctx, name, host)
}

func (m *Manager) remove(ctx context.Context, name, host string) error {
	if !m.OVS.Connected() {
		return fmt.Errorf("%w: not connected to the local OVS database", ErrUnavailable)
	}
	if err := m.OVS.DeletePort(ctx, m.Bridge, host); err != nil {
		return err
	}
	if err := hostnet.DeleteHostVeth(host); err != nil {
		return fmt.Errorf("delete veth %s: %w", host, err)
	}
	if _, err := m.NB.GetPort(name); err == nil || !m.NB.Connected() {
		if !m.NB.Connected() {
			return fmt.Errorf("%w: not connected to OVN Northbound", ErrUnavailable)
		}
		if err := m.Alloc.DeletePort(ctx, name); err != nil {
			return err
		}
	}
	m.Log.Info("detached", "port", name, "host_ifname", host)
	return nil
}

// Check verifies the attachment: logical port, OVS port, interface and addresses.
func (m *Manager) Check(ctx context.Context, r Request) error {
	if err := r.Validate("CHECK"); err != nil {
		return err
	}
	name := PortName(r.ContainerID, r.Ifname)
	lsp, err := m.NB.GetPort(name)
	if err != nil {
		return fmt.Errorf("%w: logical port %s of container %s/%s is missing in OVN", ErrNotFound, name, r.ContainerID, r.Ifname)
	}
	ls, err := m.NB.GetSwitch(r.Network)
	if err != nil {
		return fmt.Errorf("%w: network %q", ErrNotFound, r.Network)
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	res, err := resultOf(lsp, spec)
	if err != nil {
		return err
	}
	for _, want := range r.IPs {
		a, err := netip.ParseAddr(strings.SplitN(want, "/", 2)[0])
		if err != nil {
			return fmt.Errorf("%w: prevResult: %q is not an IP address", ErrInvalid, want)
		}
		found := false
		for _, have := range res.Addrs {
			found = found || have.Addr() == a
		}
		if !found {
			return fmt.Errorf("address %s of the previous result is not the address of logical port %s (%v)", a, lsp.Name, res.Addrs)
		}
	}
	return m.check(lsp, r, res)
}

func (m *Manager) check(lsp *nbdb.LogicalSwitchPort, r Request, res *Result) error {
	if lsp.ExternalIDs[keys.Network] != r.Network {
		return fmt.Errorf("logical port %s belongs to network %q, not %q", lsp.Name, lsp.ExternalIDs[keys.Network], r.Network)
	}
	iface, err := m.OVS.GetInterface(res.HostIfname)
	if err != nil {
		return fmt.Errorf("%w: OVS interface %s is missing from %s", ErrNotFound, res.HostIfname, m.Bridge)
	}
	if iface.ExternalIDs[ovs.KeyIfaceID] != lsp.Name {
		return fmt.Errorf("OVS interface %s has iface-id %q, want %q", res.HostIfname, iface.ExternalIDs[ovs.KeyIfaceID], lsp.Name)
	}
	if !hostnet.HostVethExists(res.HostIfname) {
		return fmt.Errorf("%w: host interface %s is missing", ErrNotFound, res.HostIfname)
	}
	if err := hostnet.CheckVeth(r.Netns, r.Ifname, res.MAC, res.Addrs); err != nil {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
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
	keep := map[Attachment]bool{}
	for _, a := range valid {
		keep[a] = true
	}
	ports, err := m.NB.ListPorts(map[string]string{keys.Kind: keys.KindContainer, keys.Chassis: m.Chassis, keys.CNINetwork: cniNetwork})
	if err != nil {
		return nil, err
	}
	var removed []Attachment
	var errs []error
	for _, p := range ports {
		a := Attachment{p.ExternalIDs[keys.ContainerID], p.ExternalIDs[keys.Ifname]}
		if keep[a] {
			continue
		}
		if err := m.remove(ctx, p.Name, HostIfname(a.ContainerID, a.Ifname)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, a)
	}
	return removed, errors.Join(errs...)
}

// Reconcile repairs or removes what a crash may have left on this chassis:
// OVS ports and veths whose logical port is gone are removed; logical ports
// of this chassis whose namespace or veth is gone are removed; a live
// container whose OVS port was lost gets it back. Run it at start, before
// serving.
func (m *Manager) Reconcile(ctx context.Context) error {
	var errs []error
	ports, err := m.OVS.ListPorts(nil)
	if err != nil {
		return err
	}
	for _, p := range ports {
		name := p.ExternalIDs[keys.Port]
		if name == "" || p.ExternalIDs[keys.ContainerID] == "" {
			continue
		}
		if _, err := m.NB.GetPort(name); errors.Is(err, ovn.ErrNotFound) {
			m.Log.Info("reconcile: removing OVS port without logical port", "port", p.Name)
			errs = append(errs, m.OVS.DeletePort(ctx, m.Bridge, p.Name), hostnet.DeleteHostVeth(p.Name))
		}
	}
	lsps, err := m.NB.ListPorts(map[string]string{keys.Kind: keys.KindContainer, keys.Chassis: m.Chassis})
	if err != nil {
		return err
	}
	for _, lsp := range lsps {
		host := lsp.ExternalIDs[keys.HostIfname]
		_, nsErr := os.Stat(lsp.ExternalIDs[keys.Netns])
		if nsErr == nil && hostnet.HostVethExists(host) {
			if _, err := m.OVS.GetPort(host); err == nil {
				continue
			}
			// The container is alive but its OVS port was lost (crash between
			// veth and OVS port, or an OVS database reset): put it back.
			m.Log.Info("reconcile: re-adding lost OVS port", "port", lsp.Name, "host_ifname", host)
			mac := ""
			if f := strings.Fields(strings.Join(lsp.Addresses, " ")); len(f) > 0 {
				mac = f[0]
			}
			ids := map[string]string{keys.Port: lsp.Name, keys.ContainerID: lsp.ExternalIDs[keys.ContainerID], keys.Ifname: lsp.ExternalIDs[keys.Ifname]}
			ifaceIDs := map[string]string{ovs.KeyIfaceID: lsp.Name, ovs.KeyAttachedMAC: mac, keys.Port: lsp.Name}
			errs = append(errs, m.OVS.AddPort(ctx, m.Bridge, host, ifaceIDs, ids))
			continue
		}
		m.Log.Info("reconcile: removing broken attachment", "port", lsp.Name, "netns", lsp.ExternalIDs[keys.Netns], "veth_present", hostnet.HostVethExists(host))
		errs = append(errs, m.remove(ctx, lsp.Name, host))
	}
	return errors.Join(errs...)
}
