package main

import (
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

// TestThinImports: the CNI plugin links none of harness.ThinBanned.
func TestThinImports(t *testing.T) {
	harness.CheckThinImports(t)
}
