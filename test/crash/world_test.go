package crash

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/quantumnet/quantumnet/test/harness"
)

// baseNet is the network of the containers; extra networks are created
// and deleted by the matrix.
const (
	baseNet    = "crash-a"
	baseSubnet = "10.231.0.0/24"
	baseGW     = "10.231.0.1"
	sgName     = "crash-sg"
	maxLive    = 6
)

// ctr is a container the runtime holds: its netns and attachment.
type ctr struct{ id, ns string }

// world is what the runtime and the operator believe: the containers whose
// ADD succeeded and that were not deleted, the extra networks and groups.
type world struct {
	t      *testing.T
	rnd    *rand.Rand
	d      *harness.Daemon
	cni    *harness.CNI
	live   []ctr
	nets   map[string]bool // extra networks that exist
	groups map[string]bool // extra groups that exist
	rules  []string        // rule ports of sgName that were added
	vms    []*vmDom        // the defined domains (vm_test.go)
	next   int
	counts map[string]int // "add/killed", "add/done", ...
	before map[string]int // ours() before the test
}

func (w *world) ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	w.t.Cleanup(cancel)
	return c
}

// op is one operation, run while the daemon is killed; recover is what the
// runtime or operator does once the daemon is back, given whether the
// operation succeeded.
type op struct {
	kind    string
	run     func() error
	recover func(ok bool)
}

// pick chooses the next operation.
func (w *world) pick() op {
	switch n := w.rnd.Intn(13); {
	case n < 4 && len(w.live) < maxLive, len(w.live) == 0:
		return w.opAdd()
	case n < 7:
		return w.opDel()
	case n < 8:
		return w.opSG()
	case n < 10:
		return w.opNet()
	default:
		return w.opVM()
	}
}

func (w *world) opAdd() op {
	w.next++
	c := ctr{id: fmt.Sprintf("cr-%d", w.next), ns: harness.Netns(w.t, fmt.Sprintf("cr%d", w.next))}
	return op{kind: "cni-add",
		run: func() error {
			_, err := w.cni.Config.AddNetworkList(w.ctx(), w.cni.List, harness.RT(c.id, c.ns, "eth0"))
			return err
		},
		recover: func(ok bool) {
			if ok {
				w.live = append(w.live, c)
			}
		}}
}

func (w *world) opDel() op {
	i := w.rnd.Intn(len(w.live))
	c := w.live[i]
	w.live = append(w.live[:i], w.live[i+1:]...)
	return op{kind: "cni-del",
		run:     func() error { return w.cni.Config.DelNetworkList(w.ctx(), w.cni.List, harness.RT(c.id, c.ns, "eth0")) },
		recover: func(bool) { exec.Command("ip", "netns", "del", harness.NsName(c.ns)).Run() }}
}

// opSG adds or deletes a rule of sgName, or creates or deletes a group.
func (w *world) opSG() op {
	switch n := w.rnd.Intn(4); {
	case n == 0 || (n == 1 && len(w.rules) == 0):
		port := fmt.Sprint(1000 + w.rnd.Intn(60000))
		return op{kind: "sg-rule-add", run: w.q("sg", "rule", "add", sgName, "ingress", "tcp", port, "from", "10.0.0.0/8"),
			recover: func(bool) { w.rules = append(w.rules, port) }}
	case n == 1:
		port := w.rules[0]
		w.rules = w.rules[1:]
		return op{kind: "sg-rule-delete", run: w.q("sg", "rule", "delete", sgName, "ingress", "tcp", port, "from", "10.0.0.0/8"),
			recover: func(bool) { w.q("sg", "rule", "delete", sgName, "ingress", "tcp", port, "from", "10.0.0.0/8")() }}
	case len(w.groups) == 0 || n == 2:
		w.next++
		g := fmt.Sprintf("crash-g%d", w.next)
		return op{kind: "sg-create", run: w.q("sg", "create", g, "--rule", "ingress tcp 22 from 10.0.0.0/8", "--preset", "icmp"),
			recover: func(bool) { w.groups[g] = true }}
	default:
		g := anyKey(w.groups)
		delete(w.groups, g)
		return op{kind: "sg-delete", run: w.q("sg", "delete", g), recover: func(ok bool) {
			if !ok {
				w.q("sg", "delete", g)() // the operator tries again ("not found" is fine)
			}
		}}
	}
}

// opNet creates or deletes an extra network.
func (w *world) opNet() op {
	if len(w.nets) < 2 && (len(w.nets) == 0 || w.rnd.Intn(2) == 0) {
		w.next++
		n := fmt.Sprintf("crash-n%d", w.next)
		subnet := fmt.Sprintf("10.232.%d.0/24", w.next%250)
		return op{kind: "net-create", run: w.q("network", "create", n, "--subnet4", subnet), recover: func(ok bool) {
			if !ok {
				w.q("network", "create", n, "--subnet4", subnet)() // again: done, or "exists"
			}
			w.nets[n] = true
		}}
	}
	n := anyKey(w.nets)
	delete(w.nets, n)
	return op{kind: "net-delete", run: w.q("network", "delete", n), recover: func(ok bool) {
		if !ok {
			if out, err := w.d.Qnetctl("network", "delete", n); err != nil && !strings.Contains(out, "not") {
				w.t.Errorf("network delete %s after a crash: %v %s", n, err, out)
			}
		}
	}}
}

// q is a qnetctl command as an operation.
func (w *world) q(args ...string) func() error {
	return func() error {
		out, err := w.d.Qnetctl(args...)
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
		}
		return nil
	}
}

// gc is CNI GC with the attachments the runtime holds.
func (w *world) gc() {
	var valid []types.GCAttachment
	for _, c := range w.live {
		valid = append(valid, types.GCAttachment{ContainerID: c.id, IfName: "eth0"})
	}
	if err := w.cni.Config.GCNetworkList(w.ctx(), w.cni.List, &libcni.GCArgs{ValidAttachments: valid}); err != nil {
		w.t.Fatalf("GC after a crash: %v", err)
	}
}

// anyKey is the smallest key of m (deterministic, for a replayed seed).
func anyKey(m map[string]bool) string {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}
