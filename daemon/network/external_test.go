package network

import (
	"errors"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func TestParseExternal(t *testing.T) {
	base := Input{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "192.0.2.0/24", Gateway4: "192.0.2.1"}
	for _, c := range []struct {
		name string
		edit func(*Input)
		err  string // "" valid; else the field the error names
	}{
		{"valid", func(*Input) {}, ""},
		{"vlan and range", func(in *Input) { in.VLAN, in.FIPRange = 100, "192.0.2.50-192.0.2.99" }, ""},
		{"no physnet", func(in *Input) { in.Physnet = "" }, "physnet: required"},
		{"bad physnet", func(in *Input) { in.Physnet = "phys net" }, "physnet"},
		{"vlan range", func(in *Input) { in.VLAN = 4095 }, "vlan"},
		{"no subnet4", func(in *Input) { in.Subnet4, in.Gateway4, in.Subnet6 = "", "", "2001:db8::/64" }, "subnet4"},
		{"range outside", func(in *Input) { in.FIPRange = "198.51.100.1-198.51.100.9" }, "fip_range"},
		{"two ranges", func(in *Input) { in.FIPRange, in.Range4 = "192.0.2.50-192.0.2.99", "192.0.2.10-192.0.2.20" }, "fip_range"},
		{"physnet without external", func(in *Input) { in.External = false }, "physnet: only for an external network"},
		{"fip range without external", func(in *Input) { in.External, in.Physnet, in.FIPRange = false, "", "192.0.2.50-192.0.2.99" }, "fip_range"},
	} {
		in := base
		c.edit(&in)
		s, err := Parse(in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, errs.Invalid)):
			t.Errorf("%s: %v, want an invalid-argument error naming %q", c.name, err, c.err)
		case c.err == "":
			// Stored and read back unchanged.
			back, err := FromSwitch(&nbdb.LogicalSwitch{Name: "qn-ext", ExternalIDs: s.ExternalIDs()})
			if err != nil || !back.External || back.Physnet != s.Physnet || back.VLAN != s.VLAN || back.Range4 != s.Range4 {
				t.Errorf("%s: read back %+v %v", c.name, back, err)
			}
			if s.ExternalIDs()[keys.External] != "true" {
				t.Errorf("%s: external not recorded", c.name)
			}
		}
	}
}
