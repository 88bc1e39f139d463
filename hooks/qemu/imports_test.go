package main

import (
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

// TestThinImports: the qemu hook links none of the heavy machinery.
func TestThinImports(t *testing.T) {
	if heavy := harness.HeavyImports(t); len(heavy) > 0 {
		t.Fatalf("the qemu hook imports %v", heavy)
	}
}
