package harness

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckBanned(t *testing.T) {
	graph := []string{
		"github.com/ovn-kubernetes/libovsdb/client", "libvirt.org/go/libvirtxml",
		Module + "/daemon/qnetctl", Module + "/pkg/api",
	}
	banned := map[string]string{
		"github.com/ovn-kubernetes/libovsdb": "ovsdb",
		"github.com/ovn-org/libovsdb":        "the module's old name",
		"libvirt.org/go/libvirt":             "cgo",
		Module + "/daemon":                   "daemon",
	}
	linked, missing := checkBanned([]string{"github.com/ovn-kubernetes/libovsdb/client", "libvirt.org/go/libvirtxml", Module + "/pkg/api"}, graph, banned)
	if want := []string{"github.com/ovn-kubernetes/libovsdb/client (banned: ovsdb)"}; !slices.Equal(linked, want) {
		t.Errorf("linked = %q, want %q", linked, want)
	}
	// An entry matching nothing fails (a renamed module), and a prefix is
	// a path prefix: libvirt does not stand for libvirtxml.
	if want := []string{"github.com/ovn-org/libovsdb", "libvirt.org/go/libvirt"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}
}

// Every entry of the real list names something the module builds with, and
// says why.
func TestThinBannedExist(t *testing.T) {
	_, missing := checkBanned(nil, moduleGraph(t), ThinBanned)
	if len(missing) > 0 {
		t.Errorf("ThinBanned entries not in the module's build graph: %v", missing)
	}
	for b, why := range ThinBanned {
		if strings.TrimSpace(why) == "" {
			t.Errorf("ThinBanned[%q] gives no reason", b)
		}
	}
}
