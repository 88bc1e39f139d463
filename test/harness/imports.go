package harness

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Module is the module path of the repository.
const Module = "github.com/quantumnet/quantumnet"

// ThinBanned lists what the thin binaries (the CNI plugin, the qemu hook,
// qnetctl) must never link, each with why. An entry stands for the package
// and everything below it. Every entry must name something the module builds
// with (CheckThinImports fails otherwise): a renamed or dropped module must
// not leave an entry that passes because it matches nothing.
var ThinBanned = map[string]string{
	"github.com/ovn-kubernetes/libovsdb": "the OVSDB client, its caches and monitors: only the daemon talks to OVSDB, " +
		"and a thin binary must start fast",
	"github.com/vishvananda/netlink": "netlink: creating and moving interfaces is the daemon's job, " +
		"a thin binary never touches a network namespace",
	"github.com/containernetworking/plugins": "the reference plugins' ip, ns and iptables helpers: netlink, " +
		"namespace switching and firewalling are the daemon's",
	"libvirt.org/go/libvirt": "the cgo libvirt binding: it needs libvirt.so and a C toolchain, " +
		"and a hook that calls libvirtd deadlocks it",
	"github.com/miekg/dns": "the daemon's DNS resolver",
	"github.com/osrg/gobgp/v3": "the daemon's embedded BGP speaker (GoBGP, its RIB and policy engine): " +
		"a thin binary only reads its status through GetBGP",
	Module + "/ipam": "addresses are allocated by the daemon only, under optimistic concurrency " +
		"against Northbound; an allocator in a thin binary would race it",
	Module + "/daemon":  "the daemon: its wiring and every capability; a thin binary makes one RPC",
	Module + "/pkg/ovn": "the typed OVN Northbound/Southbound client over libovsdb",
	Module + "/pkg/ovs": "the typed local OVS client over libovsdb",
	Module + "/pkg/api/apiserver": "the daemon's half of the API (socket creation, umask, serving): " +
		"thin binaries only dial, through pkg/rpcclient",
}

// CheckThinImports fails t when the package in the current directory links
// a package of ThinBanned (its own package aside: qnetctl lives under
// daemon/), and when an entry of ThinBanned names nothing the module builds
// with.
func CheckThinImports(t *testing.T) {
	t.Helper()
	self := goList(t, ".", "-f", "{{.ImportPath}}")
	deps := goList(t, ".", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}")
	if len(deps) < 5 {
		t.Fatalf("go list -deps returned too little: %v", deps)
	}
	deps = slices.DeleteFunc(deps, func(d string) bool { return slices.Contains(self, d) })
	linked, missing := checkBanned(deps, moduleGraph(t), ThinBanned)
	for _, m := range missing {
		t.Errorf("banned %s (%s) is not in the module's build graph: renamed or dropped? "+
			"Update testenv.ThinBanned to what is really at risk", m, ThinBanned[m])
	}
	for _, l := range linked {
		t.Errorf("%s links %s", self[0], l)
	}
}

// checkBanned returns, for every dep that is or lies below an entry of
// banned, "dep (entry: reason)", and the entries that match nothing in graph.
func checkBanned(deps, graph []string, banned map[string]string) (linked, missing []string) {
	for _, d := range deps {
		for b, why := range banned {
			if under(d, b) {
				linked = append(linked, fmt.Sprintf("%s (banned: %s)", d, why))
			}
		}
	}
	for b := range banned {
		if !slices.ContainsFunc(graph, func(p string) bool { return under(p, b) }) {
			missing = append(missing, b)
		}
	}
	slices.Sort(linked)
	slices.Sort(missing)
	return linked, missing
}

// under reports whether package p is path or lies below it.
func under(p, path string) bool {
	return p == path || strings.HasPrefix(p, path+"/")
}

var graph struct {
	once sync.Once
	pkgs []string
	err  error
}

// moduleGraph is every package the module's packages build with.
func moduleGraph(t *testing.T) []string {
	t.Helper()
	graph.once.Do(func() {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./...")
		cmd.Dir = Repo()
		out, err := cmd.Output()
		if err != nil {
			graph.err = fmt.Errorf("go list -deps ./...: %v\n%s", err, stderrOf(err))
			return
		}
		graph.pkgs = strings.Fields(string(out))
	})
	if graph.err != nil {
		t.Fatal(graph.err)
	}
	return graph.pkgs
}

func goList(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderrOf(err))
	}
	return strings.Fields(string(out))
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
