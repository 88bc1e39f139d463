package network

import (
	"fmt"
	"maps"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// TestFromSwitchCached: a /8 with a large exclude list is parsed once for
// many lookups of its row, again when its external_ids change, and after
// Forget (the row deleted).
func TestFromSwitchCached(t *testing.T) {
	in := Input{Name: "big", Subnet4: "10.0.0.0/8"}
	for i := range 2000 {
		in.Exclude = append(in.Exclude, fmt.Sprintf("10.%d.%d.0-10.%d.%d.200", i/250+1, i%250, i/250+1, i%250))
	}
	spec, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	ls := &nbdb.LogicalSwitch{UUID: "6d5c1a9e-0000-4000-8000-000000000001", Name: "qn-big", ExternalIDs: spec.ExternalIDs()}
	t.Cleanup(func() { Forget(ls.UUID) })
	lookup := func(n int) int64 {
		t.Helper()
		before := parses.Load()
		for range n {
			got, err := FromSwitch(ls)
			if err != nil || got.Name != "big" || len(got.Exclude) != 2000 {
				t.Fatalf("FromSwitch: %v, %d excludes", err, len(got.Exclude))
			}
			got.Exclude[0] = got.Exclude[1] // a caller's change must not reach the cache
		}
		return parses.Load() - before
	}
	if n := lookup(1000); n != 1 {
		t.Errorf("1000 lookups parsed %d times, want 1", n)
	}
	if got, _ := FromSwitch(ls); got.Exclude[0] != spec.Exclude[0] {
		t.Errorf("a caller changed the cached spec: %v", got.Exclude[0])
	}
	ls.ExternalIDs = maps.Clone(ls.ExternalIDs) // the same ids in a new row
	if n := lookup(100); n != 0 {
		t.Errorf("an unchanged row parsed %d times, want 0", n)
	}
	ls.ExternalIDs[keys.MTU] = "1300"
	if n := lookup(100); n != 1 {
		t.Errorf("after a change, 100 lookups parsed %d times, want 1", n)
	}
	if got, _ := FromSwitch(ls); got.MTU != 1300 {
		t.Errorf("MTU %d after the change, want 1300", got.MTU)
	}
	Forget(ls.UUID)
	if n := lookup(10); n != 1 {
		t.Errorf("after Forget, 10 lookups parsed %d times, want 1", n)
	}
	// A stored error is cached too, and names the row.
	bad := &nbdb.LogicalSwitch{UUID: "6d5c1a9e-0000-4000-8000-000000000002", Name: "qn-bad",
		ExternalIDs: map[string]string{keys.Network: "bad", keys.Subnet4: "nonsense"}}
	t.Cleanup(func() { Forget(bad.UUID) })
	before := parses.Load()
	for range 10 {
		if _, err := FromSwitch(bad); err == nil {
			t.Fatal("a bad stored spec parsed")
		}
	}
	if n := parses.Load() - before; n != 1 {
		t.Errorf("a bad row parsed %d times, want 1", n)
	}
}
