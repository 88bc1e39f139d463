package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/quantumnet/quantumnet/"

// sgStore are the names the security group store has had (daemon/sg is
// being renamed to daemon/secgroup/nbstore): at least one must exist.
var sgStore = []string{"daemon/sg", "daemon/secgroup/nbstore"}

// layers: what each package must not link, and why. Port transactions
// are owned by daemon/lport and call downward only; the services that add
// rows to them are interfaces their consumer declares, wired in main.
var layers = []struct {
	pkg    string
	banned []string
	why    string
}{
	{"daemon/netsvc", []string{"daemon/attach", "daemon/lport", "daemon/vm"},
		"network services are a lower layer than the port owners; the veth helpers are in daemon/hostnet"},
	{"ipam/nbstore", []string{"daemon/attach", "daemon/vm", "daemon/lport", "daemon/netsvc"},
		"the Northbound store of ipam is below the port owners: it hands out operations, never calls up"},
	{"daemon/lport", append([]string{"daemon/attach", "daemon/vm", "daemon/netsvc"}, sgStore...),
		"the port transaction reaches DHCP and security groups through its own interfaces"},
	{"daemon/attach", append([]string{"daemon/vm", "daemon/netsvc"}, sgStore...),
		"only main wires the concrete services"},
	{"daemon/vm", append([]string{"daemon/attach", "daemon/netsvc"}, sgStore...),
		"only main wires the concrete services"},
	{"daemon/router/nbstore", append([]string{"daemon/attach", "daemon/lport", "daemon/vm"}, sgStore...),
		"routers and floating IPs are below the port owners: they hand the port transaction operations through lport.NAT"},
	{"daemon/lb/nbstore", append([]string{"daemon/attach", "daemon/lport", "daemon/vm", "daemon/router/nbstore"}, sgStore...),
		"load balancers are below the port owners: members' addresses are read from the port view"},
	{"daemon/lport", []string{"daemon/router/nbstore"}, "the port transaction reaches NAT through its own interface"},
	{"daemon/portmap", append([]string{"daemon/attach", "daemon/lport", "daemon/vm", "daemon/netsvc"}, sgStore...),
		"host port mappings are below the attachment that owns them; the management port's logical port comes through a Ports interface wired in main"},
	{"daemon/events", append([]string{"daemon/attach", "daemon/lport", "daemon/vm", "daemon/server"}, sgStore...),
		"the event hub reads the stores' views and writes nothing: it is below the port owners and the RPC layer"},
	{"daemon/apiview", []string{"daemon/attach", "daemon/lport", "daemon/vm", "daemon/server", "daemon/events"},
		"the conversions to API messages are pure: the RPCs and the event hub both call down to them"},
	{"daemon/hostnet", []string{"pkg/ovn", "pkg/ovs", "daemon/network", "ipam"},
		"host interfaces know nothing of OVN, OVS or addresses management"},
	{"daemon/attach", []string{"daemon/metrics", "daemon/httpapi"}, observed},
	{"daemon/vm", []string{"daemon/metrics", "daemon/httpapi"}, observed},
	{"daemon/dns", []string{"daemon/metrics", "daemon/httpapi"}, observed},
	{"daemon/secgroup/nbstore", []string{"daemon/metrics", "daemon/httpapi"}, observed},
	{"daemon/console", []string{"daemon/metrics", "daemon/httpapi", "daemon/qnetctl"},
		"the console calls the daemon's service in-process (daemon/server); main mounts it on the listener and hands it the token check"},
	{"daemon/httpapi", []string{"daemon/console", "daemon/server"},
		"the listener knows no handlers: main mounts them"},
}

// observed: why instrumented packages do not link the metrics.
const observed = "an instrumented package declares its observer; only main wires daemon/metrics (and Prometheus) to it"

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}

// TestLayers: the daemon's packages link only what is below them.
func TestLayers(t *testing.T) {
	all := map[string]bool{}
	for _, p := range goList(t, mod+"...") {
		all[strings.TrimPrefix(p, mod)] = true
	}
	exists := 0
	for _, p := range sgStore {
		if all[p] {
			exists++
		}
	}
	if exists == 0 {
		t.Errorf("none of the security group store's names %v exists: update sgStore", sgStore)
	}
	for _, l := range layers {
		if !all[l.pkg] {
			t.Errorf("%s does not exist: update the layers", l.pkg)
			continue
		}
		deps := map[string]bool{}
		for _, d := range goList(t, "-deps", mod+l.pkg) {
			deps[strings.TrimPrefix(d, mod)] = true
		}
		for _, b := range l.banned {
			if !all[b] && !slices.Contains(sgStore, b) {
				t.Errorf("banned package %s (for %s) does not exist: update the layers", b, l.pkg)
			}
			if deps[b] {
				t.Errorf("%s links %s: %s", l.pkg, b, l.why)
			}
		}
	}
}
