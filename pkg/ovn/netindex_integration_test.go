package ovn_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationNetworkPorts (Bounds): a network's ports are read from a
// per-network index kept by cache events (sweeps per network do not scan
// every port): right after creates and deletes, and ListPorts with a
// network uses it.
func TestIntegrationNetworkPorts(t *testing.T) {
	nb, _ := ovntest.NewNB(t, ovntest.Switch("blue", map[string]string{keys.Network: "blue"}),
		ovntest.Switch("red", map[string]string{keys.Network: "red"}))
	ctx := ovsdbtest.Context(t, 20*time.Second)
	for _, n := range []string{"blue", "red"} {
		ls, err := nb.GetSwitch(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			name := fmt.Sprintf("%s-%d", n, i)
			mac := fmt.Sprintf("0a:51:4e:00:%02x:%02x", len(n), i)
			if err := nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: name, Addresses: []string{mac},
				ExternalIDs: map[string]string{keys.Network: n, keys.Kind: keys.KindContainer}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := func(n string, match map[string]string) []string {
		ps, err := nb.ListPorts(match)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		return slices.Equal(names("blue", map[string]string{keys.Network: "blue"}), []string{"blue-0", "blue-1", "blue-2"}) &&
			len(names("red", map[string]string{keys.Network: "red"})) == 3
	}, "blue's ports: %v", names("blue", map[string]string{keys.Network: "blue"}))
	if got := names("red", map[string]string{keys.Network: "red", keys.Kind: keys.KindContainer}); !slices.Equal(got, []string{"red-0", "red-1", "red-2"}) {
		t.Errorf("red's container ports %v", got)
	}
	if got := names("red", map[string]string{keys.Network: "red", keys.Kind: keys.KindVM}); len(got) != 0 {
		t.Errorf("red's VM ports %v, want none", got)
	}
	for i := range 3 {
		if err := nb.DeletePort(ctx, fmt.Sprintf("blue-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		ps, err := nb.NetworkPorts("blue")
		return err == nil && len(ps) == 0
	}, "blue's ports gone from the index")
}
