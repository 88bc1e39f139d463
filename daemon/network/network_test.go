package network

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
		err  string
	}{
		{"v4 defaults", Input{Name: "blue", Subnet4: "10.10.0.0/24"}, ""},
		{"dual", Input{Name: "blue", Subnet4: "10.10.0.0/24", Subnet6: "fd00:10::/64", Gateway6: "fd00:10::fe"}, ""},
		{"no name", Input{Subnet4: "10.10.0.0/24"}, "name is required"},
		{"bad name", Input{Name: "Blue!", Subnet4: "10.10.0.0/24"}, "name \"Blue!\" is invalid"},
		{"no subnet", Input{Name: "blue"}, "subnet4 or subnet6 is required"},
		{"v6 in subnet4", Input{Name: "blue", Subnet4: "fd00::/64"}, "subnet4: fd00::/64 is not an IPv4"},
		{"gw outside", Input{Name: "blue", Subnet4: "10.10.0.0/24", Gateway4: "10.11.0.1"}, "gateway4: 10.11.0.1 is outside"},
		{"gw no subnet", Input{Name: "blue", Subnet6: "fd00::/64", Gateway4: "10.0.0.1"}, "gateway4: given without subnet4"},
		{"mtu", Input{Name: "blue", Subnet4: "10.10.0.0/24", MTU: 100}, "mtu: 100 is out of range"},
		{"domain", Input{Name: "blue", Subnet4: "10.10.0.0/24", DNSDomain: "bad domain"}, "dns_domain"},
		{"range and excludes", Input{Name: "blue", Subnet4: "10.10.0.0/24", Subnet6: "fd00::/64", Range4: "10.10.0.100-10.10.0.200",
			Exclude: []string{"10.10.0.150-10.10.0.160", "fd00::5"}}, ""},
		{"range outside", Input{Name: "blue", Subnet4: "10.10.0.0/24", Range4: "10.11.0.1-10.11.0.9"}, "range4: 10.11.0.1-10.11.0.9 is not inside"},
		{"range reversed", Input{Name: "blue", Subnet4: "10.10.0.0/24", Range4: "10.10.0.9-10.10.0.1"}, "range4"},
		{"range6 without subnet6", Input{Name: "blue", Subnet4: "10.10.0.0/24", Range6: "fd00::1-fd00::9"}, "range6"},
		{"exclude outside", Input{Name: "blue", Subnet4: "10.10.0.0/24", Exclude: []string{"192.168.0.1"}}, "exclude: 192.168.0.1-192.168.0.1 is not inside"},
		{"exclude garbage", Input{Name: "blue", Subnet4: "10.10.0.0/24", Exclude: []string{"x-y"}}, "exclude"},
		{"dhcp options", Input{Name: "blue", Subnet4: "10.10.0.0/24", Subnet6: "fd00::/64", LeaseTime: 60,
			DNSServers: []string{"10.10.0.53", "fd00::53"}, NTPServers: []string{"10.10.0.123"},
			Routes: []string{"192.168.0.0/16=10.10.0.254"}, Upstream: []string{"192.0.2.53", "[2001:db8::53]:5353"}}, ""},
		{"lease too short", Input{Name: "blue", Subnet4: "10.10.0.0/24", LeaseTime: 2}, "lease_time: 2 s"},
		{"bad dns server", Input{Name: "blue", Subnet4: "10.10.0.0/24", DNSServers: []string{"10.0.0.300"}}, `dns_servers: "10.0.0.300"`},
		{"ntp v6", Input{Name: "blue", Subnet4: "10.10.0.0/24", NTPServers: []string{"fd00::1"}}, "ntp_servers: fd00::1: only IPv4"},
		{"route syntax", Input{Name: "blue", Subnet4: "10.10.0.0/24", Routes: []string{"192.168.0.0/16"}}, "routes: \"192.168.0.0/16\" is not CIDR=GATEWAY"},
		{"route host bits", Input{Name: "blue", Subnet4: "10.10.0.0/24", Routes: []string{"192.168.0.1/16=10.10.0.254"}}, "host bits"},
		{"route gw outside", Input{Name: "blue", Subnet4: "10.10.0.0/24", Routes: []string{"192.168.0.0/16=10.11.0.254"}}, "not in the network's IPv4 subnet"},
		{"route v6", Input{Name: "blue", Subnet6: "fd00::/64", Routes: []string{"fd01::/64=fd00::1"}}, "IPv6 routes come by router advertisements"},
		{"upstream", Input{Name: "blue", Subnet4: "10.10.0.0/24", Upstream: []string{"dns.example"}}, `dns_upstream: "dns.example"`},
		{"v6 range too large", Input{Name: "blue", Subnet6: "fd00::/64", Range6: "fd00::1-fd00::ffff:ffff"}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.in)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				back, err := FromSwitch(&nbdb.LogicalSwitch{Name: "qn-blue", ExternalIDs: s.ExternalIDs()})
				if err != nil || !reflect.DeepEqual(back, s) {
					t.Fatalf("round trip: %+v, %v; want %+v", back, err, s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want error containing %q", err, tc.err)
			}
		})
	}
	s, _ := Parse(Input{Name: "blue", Subnet4: "10.10.0.0/24"})
	if s.Gateway4.String() != "10.10.0.1" || s.MTU != 1400 || s.DNSDomain != "quantix.local" || s.LeaseTime != 3600 {
		t.Fatalf("defaults: %+v", s)
	}
	s, _ = Parse(Input{Name: "blue", Subnet4: "10.10.0.0/24", Upstream: []string{"192.0.2.53"}})
	if s.Upstream[0] != "192.0.2.53:53" {
		t.Fatalf("upstream without a port: %v", s.Upstream)
	}
	// A Spec's Input parses back to the Spec.
	in := Input{Name: "blue", Subnet4: "10.10.0.0/24", Subnet6: "fd00::/64", Range4: "10.10.0.100-10.10.0.200",
		Exclude: []string{"10.10.0.150"}, LeaseTime: 60, DNSServers: []string{"10.10.0.53"}, Routes: []string{"192.168.0.0/16=10.10.0.254"}}
	s, _ = Parse(in)
	if back, err := Parse(s.Input()); err != nil || !reflect.DeepEqual(back, s) {
		t.Fatalf("Input round trip: %+v, %v; want %+v", back, err, s)
	}
}

// Every refusal of Parse and ValidateName is of kind errs.Invalid, with its
// own text.
func TestParseErrorsAreInvalid(t *testing.T) {
	for _, in := range []Input{
		{Name: "Blue!", Subnet4: "10.10.0.0/24"},
		{Name: "blue"},
		{Name: "blue", Subnet4: "10.10.0.0/24", MTU: 10},
		{Name: "blue", Subnet4: "10.10.0.0/24", Range4: "10.20.0.1-10.20.0.9"},
		{Name: "blue", Subnet4: "10.10.0.0/24", Routes: []string{"x"}},
	} {
		_, err := Parse(in)
		if !errors.Is(err, errs.Invalid) || errs.Kind(err) != errs.Invalid || strings.Contains(err.Error(), errs.Invalid.Error()) {
			t.Errorf("Parse(%+v): %v, want an errs.Invalid with its own text", in, err)
		}
	}
	if err := ValidateName(""); !errors.Is(err, errs.Invalid) || err.Error() != "network: name is required" {
		t.Errorf("ValidateName: %v", err)
	}
}

// A stored spec that does not parse is a StoredError with Parse's text,
// and not the caller's mistake (no errs.Invalid).
func TestFromSwitchInvalid(t *testing.T) {
	s, _ := Parse(Input{Name: "blue", Subnet4: "10.10.0.0/24"})
	ids := s.ExternalIDs()
	ids[keys.MTU] = "10"
	_, err := FromSwitch(&nbdb.LogicalSwitch{Name: "qn-blue", ExternalIDs: ids})
	var se *StoredError
	if !errors.As(err, &se) || errors.Is(err, errs.Invalid) ||
		err.Error() != "logical switch qn-blue: stored network is invalid: mtu: 10 is out of range 576-9000" {
		t.Fatalf("FromSwitch: %v", err)
	}
}

func TestLabel(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tc := range []struct{ in, want string }{
		{"web", "web"},
		{"Web-Server01", "web-server01"},
		{"my_vm.prod", "my-vm-prod"},
		{"--web--", "web"},
		{"_web_", "web"},
		{"café", "caf"},
		{"a b", "a-b"},
		{long, strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "_bcd", strings.Repeat("a", 62)}, // cut at 63, then trimmed
		{"", ""},
		{"___", ""},
		{"ééé", ""},
	} {
		got := Label(tc.in)
		if got != tc.want {
			t.Errorf("Label(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > 63 {
			t.Errorf("Label(%q): %d characters", tc.in, len(got))
		}
	}
}
