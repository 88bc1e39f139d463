package crash

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// seed is -seed, else QN_CRASH_SEED, else the clock.
func seed() int64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s, err := strconv.ParseInt(os.Getenv("QN_CRASH_SEED"), 10, 64); err == nil && s != 0 {
		return s
	}
	return time.Now().UnixNano()
}

// TestCrashMatrix: -iterations times, an operation starts (CNI ADD or
// DEL, a security group change, a network create or delete, a VM's
// prepare or release through the qemu hook) and the
// daemon is killed with SIGKILL after a random 0-40 ms (an ADD takes
// ~30 ms; shorter operations get shorter ranges, maxDelay); the daemon starts again, the operator retries what an operator
// retries, CNI GC runs with the attachments the runtime holds, and
// nothing may have leaked or been handed out twice (see check).
func TestCrashMatrix(t *testing.T) {
	env.Require(t)
	s := seed()
	fmt.Printf("crash matrix: seed %d (replay: -seed %d or QN_CRASH_SEED=%d)\n", s, s, s)
	t.Logf("seed %d", s)
	c := sbx.DaemonConfig()
	c.ReadyTimeout = "15s"
	c.LogLevel = "info"
	c.NoLibvirt = true
	before := ours()
	d := harness.LaunchDaemon(t, c)
	d.MustReady()
	d.MustNetwork(baseNet, "--subnet4", baseSubnet)
	d.MustQnetctl("sg", "create", sgName, "--preset", "icmp")
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList("crashnet", baseNet, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, rnd: rand.New(rand.NewSource(s)), d: d, cni: cni, nets: map[string]bool{}, groups: map[string]bool{}, counts: map[string]int{}, before: before}
	t.Cleanup(func() { w.teardown() })
	t0 := time.Now()
	for i := 0; i < *itersFlag && !t.Failed(); i++ {
		w.iteration(i)
	}
	t.Logf("seed %d: %d kills in %v: %s", s, *itersFlag, time.Since(t0).Round(time.Millisecond), w.summary())
	fmt.Printf("crash matrix: seed %d: %s\n", s, w.summary())
}

// maxDelay is, per operation, the latest kill in ms: about how long the
// operation takes (with its process start), so that most kills land in it.
var maxDelay = map[string]int{"cni-add": 40, "cni-del": 25, "sg-rule-add": 15, "sg-rule-delete": 15,
	"sg-create": 15, "sg-delete": 15, "net-create": 25, "net-delete": 25, "vm-prepare": 20, "vm-release": 10}

// iteration runs one operation, kills the daemon during it, restarts it,
// recovers and checks.
func (w *world) iteration(i int) {
	t := w.t
	o := w.pick()
	delay := time.Duration(w.rnd.Intn(maxDelay[o.kind]+1)) * time.Millisecond
	type result struct {
		err error
		end time.Time
	}
	res := make(chan result, 1)
	start := time.Now()
	go func() { err := o.run(); res <- result{err, time.Now()} }()
	time.Sleep(delay)
	killAt := time.Now()
	w.d.Kill()
	r := <-res
	err, took := r.err, r.end.Sub(start)
	// before: the operation had answered when the kill was sent; mid-ok /
	// mid-failed: the kill landed in it, and it reported success / failure.
	outcome := "before"
	switch {
	case r.end.After(killAt) && err == nil:
		outcome = "mid-ok"
	case r.end.After(killAt):
		outcome = "mid-failed"
	}
	w.counts[o.kind+"/"+outcome]++
	if err := w.d.Start(); err != nil {
		t.Fatalf("iteration %d: restart after killing during %s: %v", i, o.kind, err)
	}
	if err := w.d.WaitReady(30 * time.Second); err != nil {
		t.Fatalf("iteration %d: after killing during %s: %v", i, o.kind, err)
	}
	o.recover(err == nil)
	w.gc()
	if msg := w.check(); msg != "" {
		t.Fatalf("iteration %d: kill %v into %s (%s after %v: %v): %s", i, delay, o.kind, outcome, took.Round(time.Millisecond), err, msg)
	}
}

// summary is the counts, sorted.
func (w *world) summary() string {
	var l []string
	for k, v := range w.counts {
		l = append(l, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

// teardown deletes everything through the daemon and checks that nothing
// of QuantumNet's is left but what the sandbox started with.
func (w *world) teardown() {
	if w.d.Exited() {
		w.d.Start()
		w.d.WaitReady(30 * time.Second)
	}
	for _, c := range w.live {
		w.cni.Config.DelNetworkList(w.ctx(), w.cni.List, harness.RT(c.id, c.ns, "eth0"))
	}
	w.live = nil
	w.gc()
	w.deleteVMs()
	for g := range w.groups {
		w.d.Qnetctl("sg", "delete", g)
	}
	w.d.Qnetctl("sg", "delete", sgName)
	for n := range w.nets {
		w.d.Qnetctl("network", "delete", n)
	}
	w.d.Qnetctl("network", "delete", baseNet)
	if w.t.Failed() {
		return
	}
	if left := w.leftovers(); left != "" {
		w.t.Errorf("after deleting everything: %s", left)
	}
}
