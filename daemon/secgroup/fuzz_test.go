package secgroup

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// FuzzParseRule: an accepted rule is normalized, valid, and its String is
// its canonical text: it parses back to the same rule, ID and text.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"ingress tcp 80-443 from 10.0.0.0/8", "egress udp 53 to 0.0.0.0/0", "ingress icmp type 8 from sg:web stateless",
		"ingress tcp 22 from 2001:db8::/32", "ingress icmpv6 type 1 code 4", "admin deny ingress tcp 22",
		"  Ingress   IPv6   from  SG:Self ", "egress", "ingress proto 47 from 192.0.2.1", "ingress proto 6 443",
		"ingress sctp 3868-3870 user allow stateful", "egress icmpv6", "ingress udp 1-65535", "ingress tcp 0",
		"ingress tcp 65536", "ingress ipv4 from ::/0", "ingress icmp code 3", "ingress tcp 22-21", "from 10.0.0.1",
		"ingress tcp 22 from sg:bastion-b1", "admin deny ingress from sg:Bastion-Ops-2", "ingress from sg:bastion-",
		"ingress ipv6 from sg:bastion-b1", "egress udp 53 to sg:bastion-b1", "ingress from sg:bastion-b_1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		r, err := ParseRule(spec)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRule(%q) = %+v, which does not validate: %v", spec, r, err)
		}
		n, err := r.Normalize()
		if err != nil || !reflect.DeepEqual(n, r) {
			t.Fatalf("ParseRule(%q) = %+v, not normalized (%+v, %v)", spec, r, n, err)
		}
		text := r.String()
		back, err := ParseRule(text)
		if err != nil {
			t.Fatalf("ParseRule(%q).String() = %q does not parse: %v", spec, text, err)
		}
		if back.ID() != r.ID() || back.String() != text || !reflect.DeepEqual(back, r) {
			t.Fatalf("%q -> %q -> %q (%+v vs %+v): not a round trip", spec, text, back.String(), r, back)
		}
	})
}

var groupNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)

// FuzzGroupNames: ValidateName accepts only 1-32 of [a-z0-9_-] without
// '-'/'_' at the ends; NormalizeGroups returns valid, sorted, unique names
// and is idempotent.
func FuzzGroupNames(f *testing.F) {
	for _, s := range []string{"web", "web,ssh", " web , web ", "all", "self", "Web", "a-", "-a", "a_b", strings.Repeat("a", 33), "web,,ssh", "égress", "bastion-b1", "bastion"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		if ValidateName(list) == nil && !groupNameRE.MatchString(list) {
			t.Fatalf("ValidateName(%q) accepted an invalid name", list)
		}
		if ValidateNewName(list) == nil && (ValidateName(list) != nil || strings.HasPrefix(list, BastionPrefix)) {
			t.Fatalf("ValidateNewName(%q) accepted an invalid or reserved name", list)
		}
		out, err := NormalizeGroups(strings.Split(list, ","))
		if err != nil {
			return
		}
		for _, g := range out {
			if ValidateName(g) != nil {
				t.Fatalf("NormalizeGroups(%q) = %q: %q is invalid", list, out, g)
			}
		}
		if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) {
			t.Fatalf("NormalizeGroups(%q) = %q: not sorted and unique", list, out)
		}
		again, err := NormalizeGroups(out)
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("NormalizeGroups is not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}
