package network

import (
	"maps"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// FuzzParse: an accepted network's ExternalIDs read back (FromSwitch) to
// the same Spec, and the Spec's Input parses to the same Spec.
// Lists are comma-separated.
func FuzzParse(f *testing.F) {
	type seed struct{ sub4, gw4, sub6, range4, range6, exclude, dns, routes, upstream string }
	for _, s := range []seed{
		{"10.0.0.0/24", "", "", "", "", "", "", "", ""},
		{"10.0.0.0/24", "10.0.0.254", "fd00::/64", "10.0.0.10-10.0.0.99", "fd00::10-fd00::ff", "10.0.0.50,10.0.0.60-10.0.0.70,fd00::20", "1.1.1.1,2001:db8::53", "192.168.10.0/24=10.0.0.254", "9.9.9.9,[2001:db8::1]:5353"},
		{"", "", "fd00:1::/48", "", "", "fd00:1::-fd00:1::ffff:ffff", "", "", ""},                                 // an IPv6 exclude before, across the range
		{"10.0.0.0/8", "", "", "", "", "10.0.0.2-10.255.255.200", "", "", ""},                                     // a large IPv4 exclude
		{"", "", "fd00::/64", "fd00::1:0-fd00::1:ff", "", "fd00::-fd00::ffff:ffff:ffff", "", "", ""},              // exclude from 2^48 addresses before the range
		{"", "", "fd00::/64", "", "fd00::ffff:ffff:0-fd00::ffff:ffff:ff", "fd00::-fd00::ffff:ffff:f", "", "", ""}, // regression: walked 2^32 addresses
		{"10.0.0.0/30", "", "", "", "", "", "", "", ""},
		{"10.0.0.1/24", "", "", "", "", "", "", "", ""},
		{"::ffff:10.0.0.0/120", "", "", "", "", "", "", "", ""},
	} {
		f.Add("blue", s.sub4, s.gw4, s.sub6, "", s.range4, s.range6, s.exclude, s.dns, s.routes, s.upstream, "", 0, 0)
	}
	f.Fuzz(func(t *testing.T, name, sub4, gw4, sub6, gw6, range4, range6, exclude, dns, routes, upstream, domain string, mtu, lease int) {
		in := Input{Name: name, Subnet4: sub4, Gateway4: gw4, Subnet6: sub6, Gateway6: gw6, Range4: range4, Range6: range6,
			Exclude: splitList(exclude), DNSServers: splitList(dns), Routes: splitList(routes), Upstream: splitList(upstream),
			DNSDomain: domain, MTU: mtu, LeaseTime: lease}
		s, err := Parse(in)
		if err != nil {
			return
		}
		ids := s.ExternalIDs()
		back, err := FromSwitch(&nbdb.LogicalSwitch{Name: "ls", ExternalIDs: ids})
		if err != nil {
			t.Fatalf("Parse(%+v) accepted, but its external_ids %v do not read back: %v", in, ids, err)
		}
		if !reflect.DeepEqual(back, s) || !maps.Equal(back.ExternalIDs(), ids) {
			t.Fatalf("round trip through external_ids:\n got %+v\nwant %+v", back, s)
		}
		again, err := Parse(s.Input())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse(Input()) = %+v, %v; want %+v", again, err, s)
		}
	})
}

// FuzzFromSwitch: a switch with arbitrary external_ids ("k=v" lines) never
// panics; what it accepts is stable (its ExternalIDs read back the same).
func FuzzFromSwitch(f *testing.F) {
	f.Add("quantumnet:network=blue\nquantumnet:subnet4=10.0.0.0/24\nquantumnet:gateway4=10.0.0.1\nquantumnet:mtu=1400")
	f.Add("quantumnet:network=blue\nquantumnet:subnet6=fd00::/64\nquantumnet:exclude=fd00::-fd00::ffff\nquantumnet:range6=fd00::100-fd00::1ff")
	f.Add("quantumnet:network=x\nquantumnet:mtu=-1\nquantumnet:lease_time=99999999999999999999")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		ids := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				ids[k] = v
			}
		}
		s, err := FromSwitch(&nbdb.LogicalSwitch{Name: "ls", ExternalIDs: ids})
		_ = NameOf(&nbdb.LogicalSwitch{ExternalIDs: ids})
		_ = ResolversOf(&nbdb.LogicalSwitch{ExternalIDs: ids}).Addrs()
		if err != nil {
			return
		}
		back, err := FromSwitch(&nbdb.LogicalSwitch{Name: "ls", ExternalIDs: s.ExternalIDs()})
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("FromSwitch(%v) = %+v, which reads back as %+v, %v", ids, s, back, err)
		}
	})
}

// FuzzParseRange: an accepted range is FIRST <= LAST of one family and its
// String parses back to it.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10.0.0.1-10.0.0.9", "10.0.0.1", " fd00::1 - fd00::9 ", "10.0.0.9-10.0.0.1", "10.0.0.1-fd00::1", "::ffff:1.2.3.4-1.2.3.5", "fe80::1%eth0-fe80::2%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange("range", s)
		if err != nil {
			return
		}
		if r.Last.Less(r.First) || r.First.Is4() != r.Last.Is4() {
			t.Fatalf("ParseRange(%q) = %v", s, r)
		}
		if back, err := ParseRange("range", r.String()); err != nil || back != r {
			t.Fatalf("ParseRange(%q) = %v, whose String reads back as %v, %v", s, r, back, err)
		}
		_, _ = ipam.ParseSubnet("subnet", s)
	})
}

var labelRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$`)

// FuzzLabel: any name becomes a DNS label (or "").
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"web-1", "My VM", "--x--", "ÄÖÜ", strings.Repeat("a", 70), strings.Repeat("a", 62) + "--b", "", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		l := Label(name)
		if !labelRE.MatchString(l) {
			t.Fatalf("Label(%q) = %q, not a DNS label", name, l)
		}
		if Label(l) != l {
			t.Fatalf("Label is not idempotent: %q -> %q -> %q", name, l, Label(l))
		}
	})
}

// FuzzParseSubnet: an accepted subnet is masked, not IPv4-mapped, holds a
// gateway and hosts, and its String parses back to it.
func FuzzParseSubnet(f *testing.F) {
	for _, s := range []string{"10.0.0.0/24", "10.0.0.1/24", "10.0.0.0/30", "fd00::/64", "::ffff:10.0.0.0/104", "fd00::/126", "0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ipam.ParseSubnet("subnet", s)
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Is4() && p.Bits() > 29 || p.Bits() > 125 {
			t.Fatalf("ParseSubnet(%q) = %s", s, p)
		}
		if back, err := ipam.ParseSubnet("subnet", p.String()); err != nil || back != p {
			t.Fatalf("ParseSubnet(%q) = %s, reads back as %s, %v", s, p, back, err)
		}
		if _, err := ipam.ParseGateway("gateway", ipam.DefaultGateway(p).String(), p); err != nil {
			t.Fatalf("the default gateway of %s is refused: %v", p, err)
		}
	})
}
