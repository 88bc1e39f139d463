package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func nsNameFor(name string) string { return fmt.Sprintf("qne2e-%s-%d", name, os.Getpid()%100000) }

func mustCurrent(t *testing.T, r types.Result) *current.Result {
	t.Helper()
	res, err := current.NewResultFromResult(r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
