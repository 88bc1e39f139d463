package main

import (
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

// TestThinImports: qnetctl links none of harness.ThinBanned (living under
// daemon/ does not make it the daemon).
func TestThinImports(t *testing.T) {
	harness.CheckThinImports(t)
}
