package main

import (
	"testing"

	"github.com/quantumnet/quantumnet/test/testenv"
)

// TestThinImports: the CNI plugin links none of testenv.ThinBanned.
func TestThinImports(t *testing.T) {
	testenv.CheckThinImports(t)
}
