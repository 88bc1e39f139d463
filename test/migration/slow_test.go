package migration_test

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// slowReadyTimeout is the daemons' ready_timeout in the slow migration:
// short, so that the migration lasts many times 2 x ready_timeout.
const slowReadyTimeout = 2 * time.Second

// TestSlowMigrationSourceRestart (issue 15, defect 4): a migration a -> b
// held slow by a bandwidth limit of 1 MiB/s; the source's daemon restarts
// in the middle and the migration goes on for more than 2 x ready_timeout
// after that: the handoff stays on both chassis (no timer rolls it back),
// then the limit is lifted, the migration completes, the port ends on b
// alone, --undefinesource on a leaves it there, and a container pings the
// VM on b.
func TestSlowMigrationSourceRestart(t *testing.T) {
	env.Require(t)
	da, db := startSlowDaemon(t, "a"), startSlowDaemon(t, "b")
	if out, err := da.Qnetctl("network", "create", "migslow", "--subnet4", "10.213.0.0/24"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { da.Qnetctl("network", "delete", "migslow") })
	ns, ctrIP := attachContainer(t, db, "migslow", "migslow-ctr")
	name, iface, mac := "qn-test-migslow", harness.UUID(), "52:54:00:21:13:01"
	vmIP := bootVM(t, name, iface, mac, "migslow", ctrIP)
	reach := func() bool {
		return exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", vmIP).Run() == nil
	}
	ovsdbtest.Eventually(t, 30*time.Second, reach, "the container on b cannot reach the VM on a")
	addrs := nbGet(t, iface, "addresses")
	chA, chB := th.Vars["QN_CHASSIS_A"], th.Vars["QN_CHASSIS_B"]

	var out bytes.Buffer
	mig := exec.Command("virsh", "-c", th.Vars["QN_LIBVIRT_URI_A"], "migrate", "--live", "--p2p", "--persistent",
		"--undefinesource", "--bandwidth", "1", name, th.Vars["QN_LIBVIRT_MIGRATE_URI_B"])
	mig.Stdout, mig.Stderr = &out, &out
	if err := mig.Start(); err != nil {
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() { done <- mig.Wait(); close(exited) }()
	t.Cleanup(func() { virsh("a", "migrate-setspeed", name, "10000"); mig.Process.Kill(); <-exited })
	ovsdbtest.Eventually(t, 30*time.Second, func() bool { return nbGet(t, iface, "options:requested-chassis") == chA+","+chB },
		"the handoff never began: "+nbGet(t, iface, "options:requested-chassis"))
	// The destination's hooks (migrate, prepare, start) run as the
	// incoming domain is set up, before its memory arrives: killing its
	// daemon before they are done fails the migration, not the handoff.
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		st, _ := virsh("b", "domstate", name)
		return strings.Contains(st, "paused")
	}, "the incoming domain never appeared on b")

	// Both daemons are killed mid-handoff (SIGKILL: the crash matrix's
	// migration case), the source first, the destination a seeded moment
	// later, and restarted; the migration goes on for well over
	// 2 x ready_timeout after they are back.
	t0 := time.Now()
	killBoth(t, da, db)
	time.Sleep(3*slowReadyTimeout + time.Second)
	select {
	case err := <-done:
		t.Fatalf("the migration was not slow enough to test anything (%v):\n%s", err, out.String())
	default:
	}
	if rc := nbGet(t, iface, "options:requested-chassis"); rc != chA+","+chB {
		t.Fatalf("%v after the source daemon's restart, mid-migration, the handoff is gone: requested-chassis %q", time.Since(t0).Round(time.Millisecond), rc)
	}
	job, _ := virsh("a", "domjobinfo", name)
	t.Logf("mid-migration, %v after the source daemon's restart:\n%s", time.Since(t0).Round(time.Millisecond), jobSummary(job))

	// Lift the limit: the migration completes.
	if o, err := virsh("a", "migrate-setspeed", name, "10000"); err != nil {
		t.Fatalf("migrate-setspeed: %v %s", err, o)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migrate a->b: %v\n%s", err, out.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the migration did not finish:\n%s", out.String())
	}
	t.Logf("migration took %v in all", time.Since(t0).Round(time.Millisecond))
	checkArrivedOnB(t, name, iface, addrs, chB, reach)
	// The logs are shared with the other tests of the package: only this
	// domain's lines count.
	rolled := regexp.MustCompile(`msg="(migration rolled back|migration in: the domain never arrived[^"]*)" domain=` + name + `\b`)
	for _, d := range []*harness.Daemon{da, db} {
		if log, _ := os.ReadFile(d.LogPath); rolled.Match(log) {
			t.Errorf("%s rolled the handoff back", d.Name)
		}
	}
}

// checkArrivedOnB: the VM runs on b, its port is b's alone with the same
// addresses, also after the source's undefine (--undefinesource) has been
// handled, and the container reaches it.
func checkArrivedOnB(t *testing.T, name, iface, addrs, chB string, reach func() bool) {
	t.Helper()
	if st, _ := virsh("b", "domstate", name); !strings.Contains(st, "running") {
		t.Fatalf("after the migration the VM is %q on b", st)
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return nbGet(t, iface, "options:requested-chassis") == chB },
		"after the migration the port is not b's alone: "+nbGet(t, iface, "options:requested-chassis"))
	if _, err := virsh("a", "dominfo", name); err == nil {
		t.Fatal("the domain is still defined on a after --undefinesource")
	}
	time.Sleep(2 * time.Second) // a's UNDEFINED handler has run
	if a := nbGet(t, iface, "addresses"); a != addrs {
		t.Fatalf("after the migration the port's addresses are %q, were %q (port deleted?)", a, addrs)
	}
	if rc := nbGet(t, iface, "options:requested-chassis"); rc != chB {
		t.Fatalf("after a's undefine the port's requested-chassis is %q", rc)
	}
	ovsdbtest.Eventually(t, 15*time.Second, reach, "after the migration the container cannot reach the VM on b")
}

// startSlowDaemon starts host's quantumnetd with slowReadyTimeout.
func startSlowDaemon(t *testing.T, host string) *harness.Daemon {
	t.Helper()
	c := th.DaemonConfig(host)
	c.ReadyTimeout = slowReadyTimeout.String()
	d := harness.LaunchDaemon(t, c)
	if err := d.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return d
}

// jobSummary is the progress lines of virsh domjobinfo.
func jobSummary(job string) string {
	var keep []string
	for _, l := range strings.Split(job, "\n") {
		if strings.HasPrefix(l, "Job type") || strings.HasPrefix(l, "Time elapsed") || strings.HasPrefix(l, "Data") ||
			strings.HasPrefix(l, "Memory processed") || strings.HasPrefix(l, "Memory remaining") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// killBoth kills the source's daemon, then the destination's a seeded
// moment later (SIGKILL both), and restarts them.
func killBoth(t *testing.T, src, dst *harness.Daemon) {
	seed := time.Now().UnixNano()
	gap := time.Duration(rand.New(rand.NewSource(seed)).Int63n(int64(1500 * time.Millisecond)))
	t.Logf("seed %d: the destination's daemon dies %v after the source's", seed, gap.Round(time.Millisecond))
	src.Kill()
	time.Sleep(gap)
	dst.Kill()
	for _, d := range []*harness.Daemon{src, dst} {
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*harness.Daemon{src, dst} {
		if err := d.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
