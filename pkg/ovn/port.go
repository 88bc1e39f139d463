package ovn

import (
	"net"
	"net/netip"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Port is a QuantumNet logical switch port, parsed once from its row: its
// external_ids, options and addresses. Rows are input: a malformed
// addresses column ("", " ", "unknown", "dynamic", "router", garbage)
// yields no MAC or fewer addresses, never a panic.
type Port struct {
	Name, UUID string

	Network     string // the network (empty: not QuantumNet's)
	Kind        string // keys.KindContainer | keys.KindVM
	ContainerID string // container ports
	Ifname      string
	Netns       string
	CNINetwork  string
	HostIfname  string
	Chassis     string // the chassis that created (or now owns) the port
	VMUUID      string // VM ports
	VMName      string
	VMState     string // starting | running | stopped | migrating
	DNSName     string // DNS label (<DNSName>.<network domain>)
	ServiceOf   string // a network service's own port (router, resolver): the network it serves
	// SecurityGroups as recorded on the port (no default applied).
	SecurityGroups []string
	// PortMappings are a container's host port mappings.
	PortMappings []PortMapping

	MAC net.HardwareAddr // nil when the addresses have none
	IPs []netip.Addr

	RequestedChassis string // options:requested-chassis ("SRC,DST" while migrating)
	Activation       string // options:activation-strategy
	MigrationFrom    string
	MigrationTo      string

	Up bool

	ids, opts map[string]string // as read: the base of SetPortKeysOps
}

// PortOf parses lsp.
func PortOf(lsp *nbdb.LogicalSwitchPort) Port {
	ids, opts := lsp.ExternalIDs, lsp.Options
	p := Port{
		Name: lsp.Name, UUID: lsp.UUID,
		Network: ids[keys.Network], Kind: ids[keys.Kind],
		ContainerID: ids[keys.ContainerID], Ifname: ids[keys.Ifname], Netns: ids[keys.Netns],
		CNINetwork: ids[keys.CNINetwork], HostIfname: ids[keys.HostIfname], Chassis: ids[keys.Chassis],
		VMUUID: ids[keys.VMUUID], VMName: ids[keys.VMName], VMState: ids[keys.VMState],
		DNSName: ids[keys.DNSName], ServiceOf: ids[keys.ServiceOf], SecurityGroups: SplitGroups(ids[keys.SecurityGroups]),
		PortMappings:     ParsePortMappings(ids[keys.PortMappings]),
		RequestedChassis: opts[keys.OptRequestedChassis], Activation: opts[keys.OptActivation],
		MigrationFrom: ids[keys.MigrationFrom], MigrationTo: ids[keys.MigrationTo],
		Up:  lsp.Up != nil && *lsp.Up,
		ids: ids, opts: opts,
	}
	p.MAC, p.IPs = ParseAddresses(lsp.Addresses)
	return p
}

// Managed reports whether the port is QuantumNet's.
func (p Port) Managed() bool { return p.Network != "" }

// Migration describes the port's migration for display ("" when none).
func (p Port) Migration() string {
	if p.MigrationTo == "" {
		return ""
	}
	return p.MigrationFrom + " -> " + p.MigrationTo
}

// Addresses is the port's addresses column entry ("MAC IP..."), also its
// port security: empty without a MAC.
func (p Port) Addresses() string {
	if p.MAC == nil {
		return ""
	}
	s := p.MAC.String()
	for _, a := range p.IPs {
		s += " " + a.String()
	}
	return s
}

// ParseAddresses parses a port's addresses column, entries of the form
// "MAC IP...": the MAC of the first entry that has a valid one and the IP
// addresses of every entry. Keywords ("unknown", "dynamic", "router"),
// empty entries and garbage are skipped.
func ParseAddresses(entries []string) (net.HardwareAddr, []netip.Addr) {
	var mac net.HardwareAddr
	var ips []netip.Addr
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) == 0 {
			continue
		}
		if m, err := net.ParseMAC(f[0]); err == nil && len(m) == 6 && mac == nil {
			mac = m
		}
		for _, tok := range f[1:] {
			if a, err := netip.ParseAddr(tok); err == nil {
				ips = append(ips, a)
			}
		}
	}
	return mac, ips
}

// SplitGroups parses a comma-separated list of security groups.
func SplitGroups(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// JoinGroups is the external_ids form of a list of security groups.
func JoinGroups(groups []string) string { return strings.Join(groups, ",") }

// Row is the logical switch port row of p, for its creation: addresses and
// port security from MAC and IPs, requested-chassis, and the external_ids
// of every field set.
func (p Port) Row() *nbdb.LogicalSwitchPort {
	lsp := &nbdb.LogicalSwitchPort{Name: p.Name, UUID: p.UUID, ExternalIDs: map[string]string{}, Options: map[string]string{}}
	if a := p.Addresses(); a != "" {
		lsp.Addresses, lsp.PortSecurity = []string{a}, []string{a}
	}
	set := func(m map[string]string, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	ids := lsp.ExternalIDs
	for k, v := range map[string]string{
		keys.Network: p.Network, keys.Kind: p.Kind, keys.ContainerID: p.ContainerID, keys.Ifname: p.Ifname,
		keys.Netns: p.Netns, keys.CNINetwork: p.CNINetwork, keys.HostIfname: p.HostIfname, keys.Chassis: p.Chassis,
		keys.VMUUID: p.VMUUID, keys.VMName: p.VMName, keys.VMState: p.VMState, keys.DNSName: p.DNSName,
		keys.SecurityGroups: JoinGroups(p.SecurityGroups), keys.MigrationFrom: p.MigrationFrom, keys.MigrationTo: p.MigrationTo,
		keys.PortMappings: FormatPortMappings(p.PortMappings),
	} {
		set(ids, k, v)
	}
	set(lsp.Options, keys.OptRequestedChassis, p.RequestedChassis)
	set(lsp.Options, keys.OptActivation, p.Activation)
	return lsp
}
