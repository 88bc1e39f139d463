package dns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// index is what answering needs of one Records snapshot beyond its maps,
// made once per snapshot (at its first query) rather than per query: the
// zone's name, and the names of each address's owners (hosts, and services
// for their VIPs), so that a PTR
// query costs a map lookup, not a walk over every host.
type index struct {
	zone   string                  // "quantix.local." (lower case, fully qualified); "" without a domain
	owners map[netip.Addr][]string // address (unmapped, no zone) -> the names of the hosts and services that have it, sorted ("web1.quantix.local.")
}

// noRecords stands for a network without names of its own.
var noRecords = &Records{}

// index returns the index of recs, made at its first call (concurrent
// first calls may each make one; they are equal, one is kept).
func (recs *Records) index() *index {
	if x := recs.idx.Load(); x != nil {
		return x
	}
	x := &index{owners: map[netip.Addr][]string{}}
	if d := strings.Trim(strings.ToLower(recs.Domain), "."); d != "" {
		x.zone = d + "."
	}
	own := func(label string, addrs []netip.Addr) {
		for _, h := range addrs {
			a := h.Unmap().WithZone("")
			if !slices.Contains(x.owners[a], label) {
				x.owners[a] = append(x.owners[a], label)
			}
		}
	}
	for label, addrs := range recs.Hosts {
		own(label, addrs)
	}
	for label, svc := range recs.Services { // a VIP's PTR names its load balancer
		own(label, svc.Addrs)
	}
	for a, labels := range x.owners {
		slices.Sort(labels)
		for i, l := range labels {
			labels[i] = l + "." + x.zone
		}
		x.owners[a] = labels
	}
	recs.idx.CompareAndSwap(nil, x)
	return recs.idx.Load()
}

// within reports whether name (lower case, fully qualified) is zone or
// below it; dns.IsSubDomain without its allocations for names without
// escapes.
func within(zone, name string) bool {
	if strings.IndexByte(name, '\\') >= 0 {
		return dns.IsSubDomain(zone, name)
	}
	n, z := len(name), len(zone)
	return name == zone || n > z && name[n-z-1] == '.' && name[n-z:] == zone
}

// below returns the labels of name below zone (name is within zone): none
// for the apex.
func below(name, zone string) []string {
	if strings.IndexByte(name, '\\') >= 0 {
		labels := dns.SplitDomainName(name)
		return labels[:len(labels)-dns.CountLabel(zone)]
	}
	if len(name) == len(zone) {
		return nil
	}
	return strings.Split(name[:len(name)-len(zone)-1], ".")
}

// splitName is dns.SplitDomainName with one allocation for names without
// escapes.
func splitName(name string) []string {
	if strings.IndexByte(name, '\\') >= 0 {
		return dns.SplitDomainName(name)
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return nil
	}
	return strings.Split(name, ".")
}
