package main

import (
	"testing"

	"github.com/quantumnet/quantumnet/test/testenv"
)

// TestThinImports: qnetctl links none of testenv.ThinBanned (living under
// daemon/ does not make it the daemon).
func TestThinImports(t *testing.T) {
	testenv.CheckThinImports(t)
}
