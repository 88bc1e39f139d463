package northsouth_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// fipForwards is the forwards of `fip show -o json`.
type fipForwards struct {
	Address  string `json:"address"`
	Router   string `json:"router"`
	Forwards []struct {
		Protocol      string `json:"protocol"`
		Port          int    `json:"port"`
		Target        string `json:"target"`
		TargetPort    int    `json:"target_port"`
		TargetAddress string `json:"target_address"`
	} `json:"forwards"`
}

// TestFloatingIPForward: two port forwards on one floating IP, to two
// containers on two hosts (the floating IP not associated): the outside
// reaches each container's server through its port of the floating IP
// (the router answers ARP for the floating IP on its gateway port); an
// association is refused while forwards exist; a deleted container takes
// its forward with it; after deleting the rest the
// outside reaches nothing there and Northbound has no forward row left.
func TestFloatingIPForward(t *testing.T) {
	requireRouter(t)
	external(t)
	network(t, "nsfwdnet", "10.231.6.0/24")
	newRouter(t, "nsfwdr", "nsfwdnet")
	setGateway(t, "nsfwdr")
	c1 := newContainer(t, "b", "fwd1", "nsfwdnet")
	c2 := newContainer(t, "c", "fwd2", "nsfwdnet")
	const addr = "192.0.2.160"
	qn(t, "fip", "create", extNet, "--address", addr)
	later(t, "fip", "delete", addr)
	// Different server ports: reaching one proves which container answered.
	serveTCP(t, c1.NS, 22)
	serveTCP(t, c2.NS, 8022)
	qn(t, "fip", "forward", "add", addr, "tcp", "2222", c1.Port, "22")
	later(t, "fip", "forward", "delete", addr, "tcp", "2222")
	qn(t, "fip", "forward", "add", addr, "tcp", "2223", c2.Port, "8022")
	later(t, "fip", "forward", "delete", addr, "tcp", "2223")
	var f fipForwards
	qnJSON(t, &f, "fip", "show", addr)
	if len(f.Forwards) != 2 || f.Forwards[0].Target != c1.Port || f.Forwards[0].TargetAddress != c1.IP ||
		f.Forwards[1].Target != c2.Port || f.Forwards[1].TargetPort != 8022 || f.Router != "nsfwdr" {
		t.Fatalf("fip show %s: %+v; want forwards 2222 -> %s %s:22, 2223 -> %s :8022 via nsfwdr", addr, f, c1.Port, c1.IP, c2.Port)
	}
	if out := qn(t, "fip", "forward", "list", addr); !strings.Contains(out, c1.Port) || !strings.Contains(out, c2.Port) {
		t.Errorf("fip forward list: %s", out)
	}
	outside := nh.Vars["QN_OUTSIDE_NETNS"]
	for _, port := range []int{2222, 2223} {
		if src := tcpSource(t, outside, addr, port, 30*time.Second); src != outsideIP {
			t.Errorf("%s:%d from the outside: the server saw %q, want %s (no NAT of the source)", addr, port, src, outsideIP)
		}
	}
	qnFails(t, []string{"forward"}, "fip", "associate", addr, c1.Port)
	qnFails(t, []string{"2222"}, "fip", "forward", "add", addr, "tcp", "2222", c2.Port, "8022")
	qnFails(t, []string{"port"}, "fip", "forward", "add", addr, "tcp", "70000", c2.Port, "8022")
	qnFails(t, []string{"protocol"}, "fip", "forward", "add", addr, "icmp", "1", c2.Port, "8022")
	// The second target goes (CNI DEL): so does its forward.
	c2.Del(t)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		var f fipForwards
		qnJSON(t, &f, "fip", "show", addr)
		return len(f.Forwards) == 1 && f.Forwards[0].Target == c1.Port
	}, "the forward to the deleted container is still listed")
	for _, port := range []string{"2222", "2223"} { // 2223: gone already, a no-op
		qn(t, "fip", "forward", "delete", addr, "tcp", port)
	}
	if lbs := fwdRows(t); lbs != "" {
		t.Errorf("Load_Balancer rows of forwards left: %s", lbs)
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return !connects(outside, addr, 2222) && !connects(outside, addr, 2223) },
		"the outside still reaches the containers through the deleted forwards")
}

// fwdRows are the names of Load_Balancer rows of forwards ("" none).
func fwdRows(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", "--db="+nh.Vars["QN_NB_REMOTE"], "--bare", "--columns=name", "list", "Load_Balancer").CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl list Load_Balancer: %v %s", err, out)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if strings.HasPrefix(n, "qn-fwd-") {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// connects says whether one TCP connection from ns to addr:port succeeds
// within a second.
func connects(ns, addr string, port int) bool {
	return exec.Command("ip", "netns", "exec", ns, "python3", "-c", tcpClient, addr, strconv.Itoa(port), "1").Run() == nil
}
