package portmap

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

// QuantumNet's own chains. Nothing outside them is written but the jumps
// into them from the built-in chains.
const (
	// ChainHostPorts (nat) DNATs mapped host ports to containers; jumped
	// to from PREROUTING (traffic from other machines) and OUTPUT (from
	// the host itself) for packets to a local address.
	ChainHostPorts = "QN-HOSTPORTS"
	// ChainPostrouting (nat) masquerades DNATed traffic leaving through a
	// management port to that port's address, so that replies come back
	// through it.
	ChainPostrouting = "QN-POSTROUTING"
	// ChainMgmt (filter) lets through management ports only DNATed
	// connections (and IPv6 neighbour discovery): the host has no other
	// way into a tenant network, and no tenant into the host.
	ChainMgmt = "QN-MGMT"
)

// MgmtIfPrefix starts the name of every management port's host
// interface; the rules match them all with MgmtIfPrefix+"+".
const MgmtIfPrefix = "qnm"

// Family is an address family of the host rules: iptables or ip6tables.
type Family int

// The families.
const (
	V4 Family = 4
	V6 Family = 6
)

func (f Family) String() string { return "ipv" + strconv.Itoa(int(f)) }

func (f Family) has(a netip.Addr) bool { return a.IsValid() && a.Is4() == (f == V4) }

// Rule is one rule in one of QuantumNet's chains, in the canonical form
// `iptables -S` prints it (without "-A CHAIN").
type Rule struct {
	Table, Chain string
	Spec         []string
}

// String is the rule as `iptables -t TABLE -S CHAIN` prints it.
func (r Rule) String() string { return "-A " + r.Chain + " " + strings.Join(r.Spec, " ") }

// Jump is a jump from a built-in chain into one of ours.
type Jump struct {
	Table, From string
	Spec        []string
}

// Jumps are the jumps into QuantumNet's chains, the same in both families.
var Jumps = []Jump{
	{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", ChainHostPorts}},
	{"nat", "OUTPUT", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", ChainHostPorts}},
	{"nat", "POSTROUTING", []string{"-j", ChainPostrouting}},
	{"filter", "INPUT", []string{"-j", ChainMgmt}},
	{"filter", "FORWARD", []string{"-j", ChainMgmt}},
	{"filter", "OUTPUT", []string{"-j", ChainMgmt}},
}

// Chains are QuantumNet's chains by table.
var Chains = map[string][]string{"nat": {ChainHostPorts, ChainPostrouting}, "filter": {ChainMgmt}}

// Entry is one attachment with host port mappings: its logical port,
// network, addresses and normalized mappings.
type Entry struct {
	Port     string
	Owner    string // who holds the mappings ("container ID/ifname"), for errors
	Network  string
	MTU      int
	Addrs    []netip.Addr
	Mappings []ovn.PortMapping
}

// addr is the entry's address of family f (invalid when it has none).
func (e Entry) addr(f Family) netip.Addr {
	for _, a := range e.Addrs {
		if f.has(a) {
			return a
		}
	}
	return netip.Addr{}
}

// Validate checks that every mapping can apply to the container: one with
// a host address needs a container address of that family, one without
// needs any address.
func (e Entry) Validate() error {
	if len(e.Families()) == 0 && len(e.Mappings) > 0 {
		return fmt.Errorf("%w: portMappings: the container has no IP address to forward to", errs.Invalid)
	}
	for i, m := range e.Mappings {
		if m.HostIP.IsValid() && !e.addr(familyOf(m.HostIP)).IsValid() {
			return fmt.Errorf("%w: portMappings[%d].hostIP: %s is an %s address, and the container has none of that family on network %s",
				errs.Invalid, i, m.HostIP, familyOf(m.HostIP), e.Network)
		}
	}
	return nil
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return V4
	}
	return V6
}

// Families are the families an entry has rules in.
func (e Entry) Families() []Family {
	var out []Family
	for _, f := range []Family{V4, V6} {
		if e.addr(f).IsValid() {
			out = append(out, f)
		}
	}
	return out
}

// DNATRules are the QN-HOSTPORTS rules of family f for entries, ordered
// by port then mapping: a mapping with a host IP applies only in that
// address's family, one without in every family the container has an
// address of.
func DNATRules(f Family, entries []Entry) []Rule {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Port < sorted[j].Port })
	var out []Rule
	for _, e := range sorted {
		dst := e.addr(f)
		if !dst.IsValid() {
			continue
		}
		for _, m := range e.Mappings {
			if m.HostIP.IsValid() && !f.has(m.HostIP) {
				continue
			}
			out = append(out, dnatRule(m, e.Port, dst))
		}
	}
	return out
}

func dnatRule(m ovn.PortMapping, port string, dst netip.Addr) Rule {
	var spec []string
	if m.HostIP.IsValid() {
		spec = append(spec, "-d", netip.PrefixFrom(m.HostIP, m.HostIP.BitLen()).String())
	}
	hp := strconv.Itoa(int(m.HostPort))
	to := netip.AddrPortFrom(dst, uint16(m.ContainerPort)).String()
	spec = append(spec, "-p", m.Protocol, "-m", "comment", "--comment", port,
		"-m", m.Protocol, "--dport", hp, "-j", "DNAT", "--to-destination", to)
	return Rule{Table: "nat", Chain: ChainHostPorts, Spec: spec}
}

// StaticRules are the rules of family f that do not depend on the
// mappings: masquerade of DNATed traffic out of management ports, and the
// management ports' filter.
func StaticRules(f Family) []Rule {
	mgmt := MgmtIfPrefix + "+"
	out := []Rule{{"nat", ChainPostrouting, []string{"-o", mgmt, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE"}}}
	if f == V6 {
		for _, dir := range []string{"-i", "-o"} {
			for _, t := range []string{"135", "136"} { // neighbour solicitation, advertisement
				out = append(out, Rule{"filter", ChainMgmt, []string{dir, mgmt, "-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", t, "-j", "ACCEPT"}})
			}
		}
	}
	for _, dir := range []string{"-i", "-o"} {
		out = append(out, Rule{"filter", ChainMgmt, []string{dir, mgmt, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"}})
	}
	for _, dir := range []string{"-i", "-o"} {
		out = append(out, Rule{"filter", ChainMgmt, []string{dir, mgmt, "-j", "DROP"}})
	}
	return out
}

// Desired is every rule of family f for entries, by table and chain.
func Desired(f Family, entries []Entry) map[[2]string][]Rule {
	out := map[[2]string][]Rule{}
	for table, chains := range Chains {
		for _, c := range chains {
			out[[2]string{table, c}] = nil
		}
	}
	for _, r := range append(StaticRules(f), DNATRules(f, entries)...) {
		k := [2]string{r.Table, r.Chain}
		out[k] = append(out[k], r)
	}
	return out
}
