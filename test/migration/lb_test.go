package migration_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestLoadBalancerVM's load balancer, its VIP and floating IP, and the
// floating IP of its port forward.
const (
	lbName, vip   = "miglb", "10.212.0.200"
	lbFIP, fwdFIP = "192.0.2.130", "192.0.2.131"
)

// TestLoadBalancerVM (issue 16): on the routed network migfip, a load
// balancer whose members are a VM (joined through its domain metadata,
// load-balancers="miglb") and a container; its VIP from a client container
// and its floating IP from the outside both reach both members; a port
// forward on another floating IP reaches the VM's TCP server from the
// outside; deleting them leaves no Load_Balancer row of theirs and nothing
// answers any more.
func TestLoadBalancerVM(t *testing.T) {
	env.Require(t)
	requireRouter(t)
	da, db := startDaemon(t, "a"), startDaemon(t, "b")
	q := qnetctl(t, da)
	undo := func(args ...string) { t.Cleanup(func() { da.Qnetctl(args...) }) }
	routedNetwork(t, da)
	// The floating IPs first: their undo runs after the load balancer's
	// (a floating IP a load balancer uses cannot be deleted).
	for _, a := range []string{lbFIP, fwdFIP} {
		q("fip", "create", "migext", "--address", a)
		undo("fip", "delete", a)
	}
	q("lb", "create", lbName, "--network", "migfip", "--vip", vip)
	undo("lb", "delete", lbName)
	q("lb", "listener", "add", lbName, "80", "--member-port", strconv.Itoa(guestTCPPort))

	cliNS, cliIP := attachContainer(t, db, "migfip", "miglb-cli")
	memNS, memIP := attachContainer(t, db, "migfip", "miglb-mem")
	harness.ServeTCPAnswer(t, memNS, guestTCPPort, "QNCTR ip="+memIP+"\n")
	q("lb", "member", "add", lbName, memIP)

	name, iface, mac := "qn-test-miglb", harness.UUID(), "52:54:00:21:14:01"
	vmIP := bootLBVM(t, name, iface, mac, "migfip", cliIP, lbName)
	out := th.Vars["QN_OUTSIDE_NETNS"]

	t.Run("VIP", func(t *testing.T) {
		show, _ := da.Qnetctl("lb", "show", lbName)
		if !regexp.MustCompile(`member:\s+` + iface + ` enabled \S+ network=migfip address=` + regexp.QuoteMeta(vmIP) + `\n`).MatchString(show) {
			t.Fatalf("the VM's port %s did not join %s through its metadata (address %s):\n%s", iface, lbName, vmIP, show)
		}
		bothMembers(t, cliNS, vip, 80, vmIP, memIP)
	})
	t.Run("FloatingIP", func(t *testing.T) {
		q := qnetctl(t, da) // this subtest's t: a failure stops it, not its parent
		q("lb", "set", lbName, "--fip", lbFIP)
		if show, _ := da.Qnetctl("fip", "show", lbFIP); !regexp.MustCompile(`load balancers:\s+` + lbName + `\n`).MatchString(show) {
			t.Errorf("fip show %s does not name the load balancer %s:\n%s", lbFIP, lbName, show)
		}
		bothMembers(t, out, lbFIP, 80, vmIP, memIP)
	})
	t.Run("Forward", func(t *testing.T) {
		q := qnetctl(t, da)
		q("fip", "forward", "add", fwdFIP, "tcp", "2222", iface, strconv.Itoa(guestTCPPort))
		undo("fip", "forward", "delete", fwdFIP, "tcp", "2222")
		if l, _ := da.Qnetctl("fip", "forward", "list", fwdFIP); !regexp.MustCompile(`tcp\s+2222\s+` + iface + `\s+` + strconv.Itoa(guestTCPPort) + `\s+` + regexp.QuoteMeta(vmIP) + `\n`).MatchString(l) {
			t.Errorf("fip forward list %s:\n%s", fwdFIP, l)
		}
		for i := range 5 {
			tcpAnswerPort(t, out, fwdFIP, 2222, vmIP, fmt.Sprintf("forward, connection %d", i+1))
		}
	})
	t.Run("Delete", func(t *testing.T) { lbDeletesLeaveNothing(t, da, cliNS, out) })
}

// lbDeletesLeaveNothing deletes TestLoadBalancerVM's load balancer and
// port forward: their Load_Balancer rows go, and the VIP (from the client
// in cliNS) and both floating IPs (from the outside, out) stop answering.
func lbDeletesLeaveNothing(t *testing.T, da *harness.Daemon, cliNS, out string) {
	q := qnetctl(t, da)
	ours := func(r string) bool {
		return r == "qn-lb-"+lbName || strings.HasPrefix(r, "qn-fwd-"+fwdFIP+"-") || strings.HasPrefix(r, "qn-fwd-"+lbFIP+"-")
	}
	before := lbRows(t, ours)
	if strings.Join(before, " ") != "qn-fwd-"+fwdFIP+"-tcp qn-lb-"+lbName {
		t.Fatalf("before the deletes the Load_Balancer rows of ours are %v, want qn-fwd-%s-tcp and qn-lb-%s", before, fwdFIP, lbName)
	}
	q("lb", "delete", lbName)
	q("fip", "forward", "delete", fwdFIP, "tcp", "2222")
	if left := lbRows(t, ours); len(left) > 0 {
		t.Errorf("Load_Balancer rows left after deleting the load balancer and the forward: %v", left)
	}
	for _, c := range []struct {
		ns, addr string
		port     int
	}{{cliNS, vip, 80}, {out, lbFIP, 80}, {out, fwdFIP, 2222}} {
		var line string
		if !ovsdbtest.Until(context.Background(), 15*time.Second, func() bool {
			var err error
			line, err = harness.TCPLine(c.ns, c.addr, c.port, time.Second)
			return err != nil
		}) {
			t.Errorf("after the deletes %s:%d still answers %q", c.addr, c.port, line)
		}
	}
	// Both floating IPs are free again: deleting them is not refused.
	for _, a := range []string{lbFIP, fwdFIP} {
		q("fip", "delete", a)
	}
}

// lbRows are the names of the Northbound Load_Balancer rows for which
// keep is true, sorted.
func lbRows(t *testing.T, keep func(name string) bool) []string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", "--db="+th.Vars["QN_NB_REMOTE"], "--bare", "--columns=name", "list", "Load_Balancer").CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl list Load_Balancer: %v\n%s", err, out)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if keep(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// bothMembers opens 40 TCP connections from ns to addr:port and checks
// that each member (the VM at vmIP, the container at memIP) answers some
// of them and nothing else does; it retries, a batch a second, until the
// load balancer is in place (20 s).
func bothMembers(t *testing.T, ns, addr string, port int, vmIP, memIP string) {
	t.Helper()
	var got map[string]int
	if !ovsdbtest.Until(context.Background(), 20*time.Second, func() bool {
		got = map[string]int{}
		for range 40 {
			l, err := harness.TCPLine(ns, addr, port, 2*time.Second)
			switch {
			case err != nil:
				got["error"]++
			case strings.HasPrefix(l, "QNGUEST TCP ") && strings.Contains(l, " ip="+vmIP+" "):
				got["vm"]++
			case l == "QNCTR ip="+memIP:
				got["container"]++
			default:
				got[l]++
			}
		}
		if got["vm"] > 0 && got["container"] > 0 && got["vm"]+got["container"] == 40 {
			return true
		}
		time.Sleep(time.Second) // gently: thousands of connections in a few seconds fill the userspace datapath's conntrack
		return false
	}) {
		t.Fatalf("40 connections to %s:%d from %s: %v, want both the VM and the container and nothing else", addr, port, ns, got)
	}
	t.Logf("40 connections to %s:%d from %s: %v", addr, port, ns, got)
}

// tcpAnswerPort opens a TCP connection from ns to addr:port and checks
// that the server in the guest at vmIP answers it.
func tcpAnswerPort(t *testing.T, ns, addr string, port int, vmIP, when string) {
	t.Helper()
	var line string
	var err error
	if !ovsdbtest.Until(context.Background(), 20*time.Second, func() bool {
		line, err = harness.TCPLine(ns, addr, port, 2*time.Second)
		return err == nil
	}) {
		t.Fatalf("%s: TCP from %s to %s:%d: %v (got %q)", when, ns, addr, port, err, line)
	}
	if !strings.HasPrefix(line, "QNGUEST TCP ") || !strings.Contains(line, " ip="+vmIP+" ") {
		t.Fatalf("%s: %s:%d answered %q, want the guest's QNGUEST TCP line with ip=%s", when, addr, port, line, vmIP)
	}
}

// bootLBVM is bootVM with the NIC's metadata naming the load balancers
// lbs (load-balancers="..."): the port joins them when the VM starts; it
// also waits until the guest serves TCP.
func bootLBVM(t *testing.T, name, iface, mac, network, ping, lbs string) string {
	t.Helper()
	meta := fmt.Sprintf(`id="%s" network="%s"`, iface, network)
	xml := vmXML(name, iface, mac, network, ping, consolePath(name))
	if !strings.Contains(xml, meta) {
		t.Fatalf("vmXML has no %s", meta)
	}
	xml = strings.Replace(xml, meta, meta+fmt.Sprintf(` load-balancers="%s"`, lbs), 1)
	vmIP := bootDomain(t, name, xml)
	listenRE := regexp.MustCompile(`QNGUEST TCP LISTEN port=` + strconv.Itoa(guestTCPPort))
	ovsdbtest.Eventually(t, 90*time.Second, func() bool {
		b, _ := os.ReadFile(consolePath(name))
		return listenRE.Match(b)
	}, "the VM never served TCP")
	return vmIP
}
