package crash

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// check is what must hold after a crash, a restart and GC ("" when it
// does): one logical port, OVS port and veth per container the runtime
// holds and none for any other; no address or MAC twice; the base
// network's reservations are its containers', its VMs' and its
// resolver's; one logical port per NIC of the defined VMs, each keeping
// its addresses (vmPorts); one
// resolver endpoint (OVS port and veth, the same name) per network; no
// ACL of a group that does not exist; every extra network complete or
// absent; every container pings its gateway.
func (w *world) check() string {
	t := w.t
	var ids []string
	for _, c := range w.live {
		ids = append(ids, c.id)
	}
	slices.Sort(ids)
	if got := w.containerPorts(); !slices.Equal(got, ids) {
		return fmt.Sprintf("container logical ports of %v, want %v", got, ids)
	}
	if p := sbx.OVSPorts(t); len(p) != len(ids) {
		return fmt.Sprintf("OVS ports %v, want %d", p, len(ids))
	}
	if l := sbx.HostLinks("qnc"); len(l) != len(ids) {
		return fmt.Sprintf("container veths %v, want %d", l, len(ids))
	}
	if msg := w.uniqueAddresses(); msg != "" {
		return msg
	}
	if msg := w.vmPorts(); msg != "" {
		return msg
	}
	if used, want := w.used(baseNet), len(ids)+w.vmNICs()+1; used != want {
		return fmt.Sprintf("%s holds %d addresses, want %d (containers, VM NICs and the resolver):\n%s", baseNet, used, want,
			w.d.MustQnetctl("ipam", "show", baseNet))
	}
	if msg := w.resolvers(); msg != "" {
		return msg
	}
	if msg := w.acls(); msg != "" {
		return msg
	}
	return w.ping()
}

// containerPorts are the container IDs of the container logical ports,
// sorted (a container with two ports appears twice).
func (w *world) containerPorts() []string {
	out := sbx.Tool(w.t, "ovn-nbctl", "--bare", "--columns=external_ids", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:kind=container")
	var ids []string
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "\"quantumnet:container-id\"="); ok {
			ids = append(ids, strings.Trim(v, `"`))
		} else if v, ok := strings.CutPrefix(f, "quantumnet:container-id="); ok {
			ids = append(ids, strings.Trim(v, `"`))
		}
	}
	slices.Sort(ids)
	return ids
}

// uniqueAddresses: no IP or MAC on two logical ports.
func (w *world) uniqueAddresses() string {
	out := sbx.Tool(w.t, "ovn-nbctl", "--bare", "--columns=name,addresses", "list", "Logical_Switch_Port")
	seen := map[string]string{}
	name := ""
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			name = ""
			continue
		}
		if name == "" {
			name = l
			continue
		}
		for _, f := range strings.Fields(strings.Trim(l, `"`)) {
			_, ipErr := netip.ParseAddr(f)
			if ipErr != nil && !regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`).MatchString(f) {
				continue
			}
			if other, dup := seen[f]; dup && other != name {
				return fmt.Sprintf("%s is on two logical ports: %s and %s", f, other, name)
			}
			seen[f] = name
		}
	}
	return ""
}

var usedRE = regexp.MustCompile(`(?m)^\s*\S+/\d+\s+\S+\s+\d+\s+(\d+)\s`)

// used is how many addresses IPAM holds on network (its first subnet).
func (w *world) used(network string) int {
	m := usedRE.FindStringSubmatch(w.d.MustQnetctl("ipam", "show", network))
	if m == nil {
		return -1
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// resolvers: one resolver OVS port and one veth, the same, per network.
func (w *world) resolvers() string {
	want := 1 + len(w.nets)
	var ports, links []string
	ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		ports, links = nil, sbx.HostLinks("qnd")
		for _, p := range strings.Fields(sbx.Tool(w.t, "ovs-vsctl", "list-ports", "br-int")) {
			if strings.HasPrefix(p, "qnd") {
				ports = append(ports, p)
			}
		}
		slices.Sort(ports)
		slices.Sort(links)
		return len(ports) == want && slices.Equal(ports, links)
	})
	if len(ports) != want || !slices.Equal(ports, links) {
		return fmt.Sprintf("resolver OVS ports %v and veths %v, want %d of each, the same", ports, links, want)
	}
	return ""
}

// acls: every security group ACL belongs to a group that exists.
func (w *world) acls() string {
	groups := map[string]bool{sgName: true}
	for g := range w.groups {
		groups[g] = true
	}
	out := sbx.Tool(w.t, "ovn-nbctl", "--bare", "--columns=external_ids", "list", "ACL")
	for _, f := range strings.Fields(out) {
		f = strings.ReplaceAll(f, `"`, "")
		if g, ok := strings.CutPrefix(f, "quantumnet:sg="); ok && strings.HasPrefix(g, "crash-") && !groups[g] {
			return fmt.Sprintf("an ACL of group %q, which does not exist (groups %v)", g, groups)
		}
	}
	return ""
}

// ours counts, per table, the Northbound rows carrying QuantumNet's
// external_ids.
func ours() map[string]int {
	n := map[string]int{}
	for _, table := range []string{"Logical_Switch_Port", "Logical_Switch", "Logical_Router", "ACL", "Port_Group", "Address_Set", "DHCP_Options", "DNS"} {
		out, _ := exec.Command("ovn-nbctl", "--db="+sbx.NB(), "--bare", "--columns=external_ids", "list", table).Output()
		for _, row := range strings.Split(string(out), "\n") {
			if strings.Contains(row, "quantumnet:") {
				n[table]++
			}
		}
	}
	return n
}

// ping: every container reaches its gateway.
func (w *world) ping() string {
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for _, c := range w.live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := ovsdbtest.Until(context.Background(), 10*time.Second, func() bool {
				return exec.Command("ip", "netns", "exec", harness.NsName(c.ns), "ping", "-c", "1", "-W", "1", baseGW).Run() == nil
			})
			if !ok {
				mu.Lock()
				bad = append(bad, c.id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(bad) > 0 {
		return fmt.Sprintf("containers %v do not reach %s", bad, baseGW)
	}
	return ""
}

// leftovers is what is left of QuantumNet once everything was deleted,
// against what there was before the test.
func (w *world) leftovers() string {
	var left []string
	ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		left = w.leftoversNow()
		return len(left) == 0
	})
	return strings.Join(left, "; ")
}

func (w *world) leftoversNow() []string {
	var left []string
	if now := ours(); !maps.Equal(now, w.before) {
		left = append(left, fmt.Sprintf("Northbound rows of QuantumNet's per table: %v, before the test %v", now, w.before))
	}
	if p := sbx.OVSPorts(w.t); len(p) > 0 {
		left = append(left, fmt.Sprintf("OVS ports %v", p))
	}
	for _, pre := range []string{"qnc", "qnd"} {
		if l := sbx.HostLinks(pre); len(l) > 0 {
			left = append(left, fmt.Sprintf("veths %v", l))
		}
	}
	return left
}
