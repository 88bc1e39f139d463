package northsouth_test

import (
	"slices"
	"testing"
)

// TestBadInputs: every refusal of the north-south commands is a non-zero
// exit with a message naming the object or field, and writes nothing.
func TestBadInputs(t *testing.T) {
	requireRouter(t)
	external(t)

	// An external network needs its physical network.
	qnFails(t, []string{"physnet"}, "network", "create", "nsbadext", "--external", "--subnet4", "198.51.100.0/24")
	if _, err := daemons["a"].Qnetctl("network", "show", "nsbadext"); err == nil {
		later(t, "network", "delete", "nsbadext")
		t.Error("the refused external network nsbadext exists")
	}

	// Floating IPs: outside the range (inside the subnet, and outside it),
	// already taken.
	before := fipAddrs(t)
	qnFails(t, []string{"192.0.2.50", "range"}, "fip", "create", extNet, "--address", "192.0.2.50")
	qnFails(t, []string{"198.51.100.7", "range", "subnet"}, "fip", "create", extNet, "--address", "198.51.100.7")
	const taken = "192.0.2.140"
	qn(t, "fip", "create", extNet, "--address", taken)
	later(t, "fip", "delete", taken)
	qnFails(t, []string{taken}, "fip", "create", extNet, "--address", taken)
	if after := fipAddrs(t); len(after) != len(before)+1 {
		t.Errorf("floating IPs %v before, %v after one successful create", before, after)
	}

	// Associating with a port whose network is on no router, then on a
	// router without a gateway: the message names the missing link.
	network(t, "nsbadlone", "10.231.10.0/24")
	lone := newContainer(t, "a", "bad-lone", "nsbadlone")
	qnFails(t, []string{"nsbadlone", "router"}, "fip", "associate", taken, lone.Port)
	newRouter(t, "nsbadr0", "nsbadlone")
	qnFails(t, []string{"nsbadr0", "gateway"}, "fip", "associate", taken, lone.Port)

	// Overlapping subnets on one router.
	network(t, "nsbadn1", "10.231.20.0/24")
	network(t, "nsbadn2", "10.231.20.128/25")
	newRouter(t, "nsbadr2", "nsbadn1")
	qnFails(t, []string{"nsbadn2", "nsbadn1", "10.231.20", "overlap"}, "router", "attach", "nsbadr2", "nsbadn2")
	if r := showRouter(t, "nsbadr2"); slices.Contains(r.Networks, "nsbadn2") {
		t.Errorf("the refused attach is there: router nsbadr2 networks %v", r.Networks)
	}

	// Deleting a router that still has networks, or a gateway.
	qnFails(t, []string{"nsbadn1", "network"}, "router", "delete", "nsbadr2")
	qn(t, "router", "create", "nsbadr3")
	later(t, "router", "delete", "nsbadr3")
	qn(t, "router", "set-gateway", "nsbadr3", extNet)
	later(t, "router", "clear-gateway", "nsbadr3")
	qnFails(t, []string{"gateway"}, "router", "delete", "nsbadr3")

	// Detaching or deleting a network whose ports hold floating IPs.
	qn(t, "router", "set-gateway", "nsbadr2", extNet)
	later(t, "router", "clear-gateway", "nsbadr2")
	held := newContainer(t, "b", "bad-held", "nsbadn1")
	qn(t, "fip", "associate", taken, held.Port)
	later(t, "fip", "disassociate", taken)
	qnFails(t, []string{taken, "floating"}, "router", "detach", "nsbadr2", "nsbadn1")
	// (Refused while attached anyway: the message names the network.)
	qnFails(t, []string{taken, "floating", "nsbadn1"}, "network", "delete", "nsbadn1")
	if r := showRouter(t, "nsbadr2"); !slices.Contains(r.Networks, "nsbadn1") {
		t.Errorf("the refused detach happened: router nsbadr2 networks %v", r.Networks)
	}
}
