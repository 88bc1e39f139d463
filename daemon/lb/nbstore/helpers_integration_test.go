package nbstore

import (
	"net/netip"
	"slices"
	"strings"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// sortedJoin joins backends "A:P" in address order, as lb.Backends orders them.
func sortedJoin(bs ...string) string {
	slices.SortFunc(bs, func(a, b string) int {
		return netip.MustParseAddrPort(a).Compare(netip.MustParseAddrPort(b))
	})
	return strings.Join(bs, ",")
}

// sortedMap returns got when it has the same entries as want (ovn-nbctl
// prints a map's keys in its own order), want otherwise.
func sortedMap(got, want string) string {
	split := func(s string) []string {
		f := strings.Split(strings.Trim(s, "{}"), ", ")
		slices.Sort(f)
		return f
	}
	if slices.Equal(split(got), split(want)) {
		return got
	}
	return want
}
