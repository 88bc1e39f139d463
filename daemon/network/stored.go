package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The typed views of a network's Logical_Switch: its Spec and its
// resolvers, parsed from external_ids here and nowhere else.

// fromSwitch parses the Spec stored on a Logical_Switch (FromSwitch, cached).
func fromSwitch(ls *nbdb.LogicalSwitch) (Spec, error) {
	ids := ls.ExternalIDs
	mtu, _ := strconv.Atoi(ids[keys.MTU])
	lease, _ := strconv.Atoi(ids[keys.LeaseTime])
	vlan, _ := strconv.Atoi(ids[keys.VLAN])
	s, err := Parse(Input{
		Name: ids[keys.Network], Subnet4: ids[keys.Subnet4], Gateway4: ids[keys.Gateway4],
		Subnet6: ids[keys.Subnet6], Gateway6: ids[keys.Gateway6], MTU: mtu, DNSDomain: ids[keys.DNSDomain],
		Range4: ids[keys.Range4], Range6: ids[keys.Range6], Exclude: splitList(ids[keys.Exclude]),
		LeaseTime: lease, DNSServers: splitList(ids[keys.DNSServers]), NTPServers: splitList(ids[keys.NTPServers]),
		Routes: splitList(ids[keys.Routes]), Upstream: splitList(ids[keys.DNSUpstream]),
		External: ids[keys.External] == "true", Physnet: ids[keys.Physnet], VLAN: vlan,
	})
	if err != nil {
		// Not the caller's mistake: the error is no errs.Invalid here.
		var ie *invalidError
		if errors.As(err, &ie) {
			err = ie.err
		}
		return s, &StoredError{Switch: ls.Name, Err: err}
	}
	return s, nil
}

// NameOf is the name of the network of a switch ("" for a switch that is
// not a network's), without parsing its spec.
func NameOf(ls *nbdb.LogicalSwitch) string { return ls.ExternalIDs[keys.Network] }

// RouterOf is the user router the network of a switch is attached to
// ("" if none).
func RouterOf(ls *nbdb.LogicalSwitch) string { return ls.ExternalIDs[keys.Router] }

// IsExternal reports whether a switch is an external network's, without
// parsing its spec.
func IsExternal(ls *nbdb.LogicalSwitch) bool { return ls.ExternalIDs[keys.External] == "true" }

// StoredError is a network whose stored spec is invalid (rows from the
// database are input: a row written by hand, or by a newer version). The
// daemon shows it as data loss, not as the caller's mistake.
type StoredError struct {
	Switch string // the Logical_Switch's name
	Err    error  // what Parse said
}

func (e *StoredError) Error() string {
	return fmt.Sprintf("logical switch %s: stored network is invalid: %v", e.Switch, e.Err)
}

func (e *StoredError) Unwrap() error { return e.Err }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Resolvers are a network's resolver addresses (one per family, either may
// be missing).
type Resolvers struct{ V4, V6 netip.Addr }

// ResolversOf reads the resolver addresses recorded on a network's switch
// (in external_ids; not other_config, whose every change IPAM's optimistic
// guard takes for a concurrent allocation).
func ResolversOf(ls *nbdb.LogicalSwitch) Resolvers {
	var r Resolvers
	r.V4, _ = netip.ParseAddr(ls.ExternalIDs[keys.Resolver4])
	r.V6, _ = netip.ParseAddr(ls.ExternalIDs[keys.Resolver6])
	return r
}

// Addrs are the valid resolver addresses, IPv4 first.
func (r Resolvers) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range []netip.Addr{r.V4, r.V6} {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}
