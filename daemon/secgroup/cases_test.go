package secgroup

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/secgroup/secgrouptest"
)

// rules parses rule specs, failing the test on an error.
func rules(t testing.TB, specs ...string) []Rule {
	t.Helper()
	out := make([]Rule, len(specs))
	for i, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

func preset(t testing.TB, names ...string) []Rule {
	t.Helper()
	var out []Rule
	for _, n := range names {
		r, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r...)
	}
	return out
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func join(rs ...[]Rule) []Rule {
	var out []Rule
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

// goldenCase is a Translate input with a golden file testdata/<name>.golden.
type goldenCase struct {
	name string
	in   Input
}

// goldenCases are the inputs of the golden tests, also checked against a
// real ovn-northd and ovn-trace by the integration test.
func goldenCases(t testing.TB) []goldenCase {
	svc := addrs("10.0.0.1", "fd00::1")
	return slices.Concat(groupCases(t, svc), ruleCases(t, svc), portCases(t, svc))
}

// groupCases: groups alone, and groups that name each other.
func groupCases(t testing.TB, svc []netip.Addr) []goldenCase {
	return []goldenCase{
		// No group: only the shared port group (empty) and its ACLs.
		{"empty", Input{}},

		{"web", Input{
			Groups: []Group{{Name: "web", Description: "public web servers",
				Rules: join(preset(t, "web"), rules(t, "ingress tcp 22 from 10.0.0.0/8"))}},
			Ports: []Port{
				{Name: "p3", Groups: []string{"web"}},
				{Name: "p1", Groups: []string{"web"}},
				{Name: "p2", Groups: []string{"web"}},
			},
			Services: svc,
		}},

		// db admits PostgreSQL from the members of app, whatever their addresses.
		{"remote_group", Input{
			Groups: []Group{
				{Name: "app", Description: "application servers"},
				{Name: "db", Rules: rules(t,
					"ingress tcp 5432 from sg:app",
					"ingress ipv6 tcp 5432 from sg:app",
					"egress udp 514 to sg:app stateless",
				)},
			},
			Ports: []Port{
				{Name: "app-1", Groups: []string{"app"}},
				{Name: "app-2", Groups: []string{"app"}},
				{Name: "db-1", Groups: []string{"db"}},
			},
			Services: svc,
		}},

		// The internal preset: everything between members of the same group.
		{"internal", Input{
			Groups: []Group{
				{Name: "cluster-nodes", Rules: join(preset(t, "internal", "ssh"))},
				{Name: "monitor", Rules: rules(t, "ingress tcp 9100 from sg:cluster-nodes")},
			},
			Ports: []Port{
				{Name: "n1", Groups: []string{"cluster-nodes"}},
				{Name: "n2", Groups: []string{"cluster-nodes", "monitor"}},
			},
			Services: svc,
		}},
	}
}

// ruleCases: the kinds of rules (statefulness, families, tiers, protocols).
func ruleCases(t testing.TB, svc []netip.Addr) []goldenCase {
	return []goldenCase{
		{"stateless", Input{
			Groups: []Group{{Name: "dns", Rules: rules(t,
				"ingress udp 53 stateless",
				"egress udp to 0.0.0.0/0 stateless",
				"ingress ipv6 udp 53 from fd00::/8 stateless",
				"ingress tcp 53",
			)}},
			Ports:    []Port{{Name: "resolver", Groups: []string{"dns"}}},
			Services: svc,
		}},

		{"ipv6_icmpv6", Input{
			Groups: []Group{{Name: "v6only", Rules: join(preset(t, "icmp"), rules(t,
				"ingress icmpv6 type 1 code 4",
				"ingress icmpv6 type 2 from 2001:db8::/32",
				"ingress ipv6 tcp 8000-8080 from 2001:db8:1::/48",
				"egress ipv6 udp 123 to 2001:db8::123",
				"ingress icmp type 3 code 4",
			))}},
			Ports:    []Port{{Name: "v6", Groups: []string{"v6only"}}},
			Services: addrs("fd00::1", "fd00::53"),
		}},

		// Admin deny beats user allow; admin allow beats admin deny.
		{"admin", Input{
			Groups: []Group{
				{Name: "prod", Rules: rules(t,
					"admin deny ingress tcp 22",
					"admin deny ingress ipv6 tcp 22",
					"admin ingress tcp 22 from 192.0.2.10",
					"admin deny egress tcp 25 to 0.0.0.0/0",
					"admin ingress udp 161 from 192.0.2.0/24 stateless",
					"ingress tcp 22",
					"ingress tcp 443",
				)},
			},
			Ports:    []Port{{Name: "vm-1", Groups: []string{"prod"}}},
			Services: svc,
		}},

		{"protocols", Input{
			Groups: []Group{{Name: "proto", Rules: rules(t,
				"ingress sctp 3868-3870",
				"ingress udp 60000-61000 from 198.51.100.0/24",
				"ingress proto 47 from 203.0.113.5",
				"ingress ipv6 proto 0",
				"ingress tcp 1-65535 from 10.0.0.0/8",
				"ingress ipv4 any from 172.16.0.0/12",
				"egress tcp 443 to 0.0.0.0/0",
				"egress ipv6 sctp 9 to ::/0",
				"ingress icmp",
			)}},
			Ports:    []Port{{Name: "x", Groups: []string{"proto"}}},
			Services: svc,
		}},
	}
}

// portCases: service addresses and port memberships.
func portCases(t testing.TB, svc []netip.Addr) []goldenCase {
	return []goldenCase{
		// Several gateways and DNS servers, an IPv4-mapped one, duplicates.
		{"services", Input{
			Groups:   []Group{{Name: "g"}},
			Ports:    []Port{{Name: "p", Groups: []string{"g"}}},
			Services: addrs("10.1.0.1", "10.0.0.1", "::ffff:10.0.0.1", "10.0.0.53", "fd00:1::1", "fd00::1", "fd00::1"),
		}},

		// Ports in several groups, twice in one, in none (not in qn_sg_all),
		// and a group without ports, and a group without rules (isolation).
		{"membership", Input{
			Groups: []Group{
				{Name: "web-frontend", Rules: preset(t, "web")},
				{Name: "ssh", Rules: preset(t, "ssh")},
				{Name: "isolated", Description: "no rules: nothing gets in"},
				{Name: "unused", Rules: preset(t, "rdp")},
			},
			Ports: []Port{
				{Name: "a", Groups: []string{"web-frontend", "ssh", "web-frontend"}},
				{Name: "b", Groups: []string{"ssh"}},
				{Name: "c"},
				{Name: "d", Groups: []string{"isolated"}},
			},
			Services: svc,
		}},
	}
}

// scaleInput is groups groups of rulesPerGroup rules each, and ports ports
// spread over them (each port in one group, every tenth in two).
func scaleInput(t testing.TB, ports, groups, rulesPerGroup int) Input {
	var in Input
	for g := 0; g < groups; g++ {
		grp := Group{Name: fmt.Sprintf("g%d", g)}
		for r := 0; r < rulesPerGroup; r++ {
			grp.Rules = append(grp.Rules, rules(t, secgrouptest.RuleSpec(g, r, groups))...)
		}
		in.Groups = append(in.Groups, grp)
	}
	for p := 0; p < ports; p++ {
		port := Port{Name: fmt.Sprintf("port-%04d", p), Groups: []string{fmt.Sprintf("g%d", p%groups)}}
		if p%10 == 0 {
			port.Groups = append(port.Groups, fmt.Sprintf("g%d", (p/10)%groups))
		}
		in.Ports = append(in.Ports, port)
	}
	in.Services = addrs("10.0.0.1", "fd00::1")
	return in
}
