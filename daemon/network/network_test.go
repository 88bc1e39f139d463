package network

import (
	"reflect"
	"strings"
	"testing"

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
	if s.Gateway4.String() != "10.10.0.1" || s.MTU != 1400 {
		t.Fatalf("defaults: %+v", s)
	}
}
