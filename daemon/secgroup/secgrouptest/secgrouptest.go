// Package secgrouptest holds what the security group tests and benchmarks
// share: the rule mix of the scale cases (the translator's, and the
// Northbound store's against a real ovsdb-server). It imports nothing of
// secgroup, so that secgroup's own tests can use it. Tests only.
package secgrouptest

import "fmt"

// RuleSpec is rule r of group g of the scale cases, in qnetctl's syntax:
// a mix of CIDR sources, IPv6, a remote group (the next of groups) and
// stateless egress.
func RuleSpec(g, r, groups int) string {
	switch r % 4 {
	case 1:
		return fmt.Sprintf("ingress ipv6 udp %d", 2000+r)
	case 2:
		return fmt.Sprintf("ingress tcp %d from sg:g%d", 3000+r, (g+1)%groups)
	case 3:
		return fmt.Sprintf("egress tcp %d to 192.0.2.%d stateless", 4000+r, r)
	}
	return fmt.Sprintf("ingress tcp %d from 10.%d.0.0/16", 1000+r, g)
}
