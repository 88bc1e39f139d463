package secgroup

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// ErrUnknownPreset is returned by Preset for a name it does not know.
var ErrUnknownPreset = errs.New(errs.Invalid, "unknown security group preset")

// presets are the preset rules in the rule syntax: ingress, both families
// where that means something.
var presets = map[string][]string{
	"ssh": {"ingress ipv4 tcp 22", "ingress ipv6 tcp 22"},
	"web": {
		"ingress ipv4 tcp 80", "ingress ipv6 tcp 80",
		"ingress ipv4 tcp 443", "ingress ipv6 tcp 443",
	},
	"rdp": {"ingress ipv4 tcp 3389", "ingress ipv6 tcp 3389"},
	"database": {
		"ingress ipv4 tcp 5432", "ingress ipv6 tcp 5432", // PostgreSQL
		"ingress ipv4 tcp 3306", "ingress ipv6 tcp 3306", // MySQL, MariaDB
		"ingress ipv4 tcp 6379", "ingress ipv6 tcp 6379", // Redis
		"ingress ipv4 tcp 27017", "ingress ipv6 tcp 27017", // MongoDB
	},
	// All of ICMP for IPv4; for IPv6 echo requests only (ND is always
	// allowed, and ICMPv6 errors of a connection are related traffic).
	"icmp": {"ingress ipv4 icmp", "ingress ipv6 icmpv6 type 128"},
	// Everything from the members of the same group.
	"internal": {"ingress ipv4 any from sg:self", "ingress ipv6 any from sg:self"},
}

// Presets returns the names of the presets, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Preset returns the rules of a preset (normalized, ingress, both IP
// families where meaningful): ssh, web, rdp, database, icmp, internal. The
// rules of "internal" have RemoteGroup Self: they allow everything from the
// group they are added to.
func Preset(name string) ([]Rule, error) {
	specs, ok := presets[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPreset, name, strings.Join(Presets(), ", "))
	}
	rules := make([]Rule, len(specs))
	for i, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			panic(fmt.Sprintf("secgroup: preset %s: %v", name, err)) // a bug, caught by the tests
		}
		rules[i] = r
	}
	return rules, nil
}
