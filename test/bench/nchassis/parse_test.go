package main

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

func TestParseRecomputes(t *testing.T) {
	out := "Node: runtime_data\n- recompute:            3\n- compute:             40\n- cancel:               0\n" +
		"Node: logical_flow_output\n- recompute:           12\n- compute:            300\n- cancel:               1\n"
	if n := parseRecomputes(out, "logical_flow_output"); n != 12 {
		t.Fatalf("logical_flow_output recomputes = %d, want 12", n)
	}
	if n := parseRecomputes(out, "physical_flow_output"); n != -1 {
		t.Fatalf("a missing node = %d, want -1", n)
	}
}

func TestChassisCounts(t *testing.T) {
	got, err := chassisCounts(8, "4, 2,8")
	if err != nil || !slices.Equal(got, []int{2, 4, 8}) {
		t.Fatalf("chassisCounts(8, \"4, 2,8\") = %v, %v; want [2 4 8]", got, err)
	}
	for _, bad := range []string{"1", "10", "x"} {
		if _, err := chassisCounts(8, bad); err == nil {
			t.Errorf("-curve %q: no error", bad)
		}
	}
}

// Every ordered chassis pair is pinged once the sample is large enough,
// and never a chassis with itself.
func TestSamplePairsCoversChassisPairs(t *testing.T) {
	w := &world{hosts: []string{"a", "b", "c", "d"}, containers: map[string][]harness.AddRecord{}}
	for _, h := range w.hosts {
		for i := 0; i < 5; i++ {
			w.containers[h] = append(w.containers[h], harness.AddRecord{ID: h, IP: h})
		}
	}
	seen := map[[2]string]bool{}
	for _, p := range w.samplePairs(16, rand.New(rand.NewSource(1))) {
		if p.from.ID == p.to.ID {
			t.Fatalf("pair within chassis %s", p.from.ID)
		}
		seen[[2]string{p.from.ID, p.to.ID}] = true
	}
	if len(seen) != 12 {
		t.Fatalf("%d ordered chassis pairs pinged, want all 12", len(seen))
	}
}
