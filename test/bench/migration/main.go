// Command migration benchmarks the network outage of a live migration
// (run as root: `go run ./test/bench/migration`).
//
// A guest (scripts/test-guest.sh, 128 MiB, TCG) moves between the two
// simulated hosts of scripts/nhost.sh (two hosts with libvirtd, and the
// outside network cabled to both) with
// `virsh migrate --live --p2p --persistent --undefinesource`, -n times in
// each direction (A->B, B->A alternately), while a container on host B
// (attached by host B's quantumnetd through the CNI plugin) pings it every
// 10 ms. For each migration it measures the pings lost, the longest time
// between two replies (the gap), the guest's own downtime as libvirt/QEMU
// report it, and gap - downtime: the network's share of the outage.
//
// Modes (-modes, run in that order in one run, same topology):
//
//   - quantumnet: QuantumNet's handoff as implemented: the qemu hook on
//     both hosts and one quantumnetd per host (configured like
//     test/migration: chassis.manage=false). The destination's migrate
//     hook binds the port on both chassis (requested-chassis="SRC,DST",
//     activation-strategy=rarp); QEMU's RARP after the switchover
//     activates it; completion leaves DST alone.
//   - naive: a CMS that moves the port only after the source stopped: the
//     hook is removed from both hosts (nhost.sh up with an empty
//     QN_NHOST_HOOK; the daemons keep running for the container), the
//     VM's NIC has no QuantumNet metadata, the benchmark creates its
//     logical port with ovn-nbctl (name = interfaceid, "MAC IP", port
//     security, a DHCP_Options row like the daemon's, requested-chassis =
//     the host it runs on) and, when virsh migrate has returned, sets
//     requested-chassis to the destination in one ovn-nbctl call.
//   - quantumnet-events (not in the default): like quantumnet, but the
//     daemons run with chassis.manage=true. In this tree the config
//     defaults share one *bool between chassis.manage and libvirt.enabled
//     (daemon/config.Defaults), so manage=false also turns the libvirt
//     event watcher off; manage=true is the only way to have it on, and
//     with it the handoff's completion on the RESUMED/STOPPED_MIGRATED
//     events. (manage=true rewrites the same Open_vSwitch external_ids
//     nhost.sh already set.)
//
// Where QEMU's downtime is: after a successful migration libvirt keeps
// the job's statistics on the destination's domain (`virsh domjobinfo
// --completed DOM` there; without --keep-completed the first read drops
// them). The source's domain is gone with --undefinesource, so the
// source's `domjobinfo --completed` fails; its `job-completed` event
// (virsh event) still carries the same statistics. "Total downtime" is
// computed by the destination's libvirt right after it resumed the CPUs:
// now - the time the source stopped them (from the migration cookie): the
// guest's whole pause. The benchmark reads it on the destination with
// --keep-completed and cross-checks it against the source's job-completed
// event and the Suspended/Resumed lifecycle events.
//
// Two more measurements help read the share. A reference, once per run:
// the guest paused ~200 ms and resumed on host A (virsh suspend/resume),
// nothing moving in the network: the share a perfect handoff would show
// (pings sent during a pause wait in the tap and are answered at the
// resume). And a packet socket in each host's network namespace (RARP
// and ICMP only) that watches the destination's VM tap: when QEMU's RARP
// left it, when the network handed the VM its first echo request after
// that (net ready, from the Resumed event), how long the running guest
// took to answer it (guest reply: a fresh TCG QEMU translates its code
// anew), and echo requests handed to the tap before the RARP (activation-
// strategy=rarp should hold every one back). With -v every migration's
// timeline is printed: libvirt events of both hosts, the VM's logical
// port in NB and its Port_Binding in SB.
//
// Floating IP (QuantumNet modes): the network is on a router with a
// gateway on an external network (the outside's 192.0.2.0/24), and the
// VM gets a floating IP (distributed: both hosts map the physnet). During
// every migration the outside namespace pings the floating IP every 10 ms
// too, and the second table puts its switchover gap next to the
// container's (east-west) gap of the same migration: the floating IP
// must follow within 10 ms of it.
//
// It prints a table (median and range per mode and direction) with the
// targets: the network's share under 20 ms for QuantumNet, and the naive
// baseline's share at least 10x QuantumNet's; MET / NOT MET. It is a
// report: exit 0 unless something failed to run. Everything it creates
// (nhost run dir, namespaces, daemons, VMs, pings, temp dir) is removed
// at the end, also on failure and on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagN       = flag.Int("n", 3, "migrations per direction and mode")
	flagJSON    = flag.String("json", "", "also write the results as JSON to this file")
	flagModes   = flag.String("modes", "quantumnet,naive", "modes to run, in order: quantumnet, naive, quantumnet-events")
	flagVerbose = flag.Bool("v", false, "print every migration's timeline (libvirt events, NB and SB changes)")
	flagKeep    = flag.Bool("keep-tmp", false, "keep the temp dir (daemon logs, guest consoles, domain XML) at the end")
	flagSmoke   = harness.SmokeFlag() // -n 1: one migration each way per mode
)

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "migbench: "+format+"\n", a...)
}

type modeSpec struct {
	name   string
	hook   bool // the QuantumNet qemu hook installed
	manage bool // daemons' chassis.manage (and, through the shared pointer, libvirt.enabled)
	naive  bool
}

var knownModes = map[string]modeSpec{
	"quantumnet":        {name: "quantumnet", hook: true},
	"quantumnet-events": {name: "quantumnet-events", hook: true, manage: true},
	"naive":             {name: "naive", naive: true},
}

type bench struct {
	repo, tmp, bin, thDir string
	pid                   int
	nsA, nsB, ctrNS       string
	env                   map[string]string
	thStarted, hookOn     bool
	h                     *harness.Env   // the repository, the binaries built once
	th                    *harness.NHost // scripts/nhost.sh: two libvirt hosts and the outside
	daemons               map[string]*harness.Daemon
	daemonManage          bool
	holder                *exec.Cmd
	ctrCreated, cniAdded  bool
	cni                   *libcni.CNIConfig
	cniList               *libcni.NetworkConfigList
	cniRT                 *libcni.RuntimeConf
	ctrIP                 string
	vms                   map[string]*vm
	pingers               map[*pinger]bool
	trace                 *tracer
	sniff                 map[string]*sniffer // per host, during a mode
	results               []*result
	problems              []string
}

func (b *bench) problem(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	b.problems = append(b.problems, msg)
	logf("NOTE: %s", msg)
}

func main() {
	harness.ParseFlags("./test/bench/migration", "Network outage of a live migration: QuantumNet's handoff vs a naive port move, and a floating IP's gap vs the east-west gap (root; OVN, libvirt, QEMU).")
	if *flagSmoke {
		if err := harness.FlagDefaults(map[string]string{"n": "1"}); err != nil {
			logf("%v", err)
			os.Exit(2)
		}
	}
	os.Exit(run())
}

func run() (code int) {
	var modes []modeSpec
	for _, m := range strings.Split(*flagModes, ",") {
		spec, ok := knownModes[strings.TrimSpace(m)]
		if !ok {
			logf("unknown mode %q (quantumnet, naive, quantumnet-events)", m)
			return 2
		}
		modes = append(modes, spec)
	}
	if *flagN < 1 || len(modes) == 0 {
		logf("-n must be >= 1 and -modes not empty")
		return 2
	}
	if os.Geteuid() != 0 {
		logf("must run as root (namespaces, OVS, libvirt)")
		return 1
	}
	for _, c := range []string{"ovn-controller", "ovn-nbctl", "ovs-vsctl", "libvirtd", "virsh", "qemu-system-x86_64", "nsenter", "ip", "ping"} {
		if _, err := exec.LookPath(c); err != nil {
			logf("%s is not installed (scripts/deps.sh --with-libvirt)", c)
			return 1
		}
	}
	ctx, stop := harness.Interruptible(logf)
	defer stop()

	b := &bench{pid: os.Getpid(), env: map[string]string{}, daemons: map[string]*harness.Daemon{}, vms: map[string]*vm{}, pingers: map[*pinger]bool{}, trace: &tracer{}, sniff: map[string]*sniffer{}}
	// The temp dir is the harness's, kept or removed by cleanup.
	b.h = harness.New(harness.Setup{Name: "bm"})
	b.h.Keep = true
	logf("building the binaries")
	if err := b.h.Start(); err != nil {
		logf("%v", err)
		b.h.Close()
		if b.h.Tmp != "" {
			os.RemoveAll(b.h.Tmp)
		}
		return 1
	}
	b.repo, b.tmp, b.bin = b.h.Repo, b.h.Tmp, b.h.Bin
	b.thDir = filepath.Join(b.tmp, "th")
	b.nsA, b.nsB, b.ctrNS = fmt.Sprintf("qnbm%d-a", b.pid), fmt.Sprintf("qnbm%d-b", b.pid), fmt.Sprintf("qnbm%d-c", b.pid)
	// nhost.sh names the hosts' namespaces PREFIX-a, PREFIX-b (and PREFIX-sw,
	// PREFIX-out: the underlay switch, the outside network).
	b.th = &harness.NHost{Dir: b.thDir, Hosts: 2, NetnsPrefix: fmt.Sprintf("qnbm%d", b.pid), Vars: b.env, Env: b.h}
	t0 := time.Now()
	defer harness.Finish(&code, t0, b.cleanup, logf)

	if err := b.setup(ctx, modes[0]); err != nil {
		logf("setup failed: %v", err)
		b.dumpLogs()
		return 1
	}
	logf("setup done after %s (container %s on host B)", time.Since(t0).Round(100*time.Millisecond), b.ctrIP)
	for i, m := range modes {
		if ctx.Err() != nil {
			break
		}
		if err := b.runMode(ctx, m, i); err != nil {
			logf("mode %s failed: %v", m.name, err)
			b.dumpLogs()
			code = 1
			break
		}
	}
	if ctx.Err() != nil {
		code = 1
	}
	if len(b.results) > 0 {
		rep := b.report(modes)
		if *flagJSON != "" {
			if err := harness.WriteJSON(*flagJSON, rep); err != nil {
				logf("writing %s: %v", *flagJSON, err)
				code = 1
			}
		}
	}
	return code
}

func (b *bench) setup(ctx context.Context, first modeSpec) error {
	logf("building the test guest")
	if err := b.guest(ctx); err != nil {
		return err
	}
	logf("bringing up two hosts (%s, %s; run dir %s)", b.nsA, b.nsB, b.thDir)
	if err := b.hostsUp(ctx, first.hook); err != nil {
		return err
	}
	if err := b.trace.startOVN(b.env["QN_NB_REMOTE"], b.env["QN_SB_REMOTE"]); err != nil {
		return fmt.Errorf("NB/SB monitors: %w", err)
	}
	if err := b.startDaemons(ctx, first.manage); err != nil {
		return err
	}
	if out, err := b.qnetctl(ctx, "a", "network", "create", network, "--subnet4", subnet4, "--exclude", excludeIP); err != nil {
		return fmt.Errorf("qnetctl network create: %v %s", err, out)
	}
	if err := b.routed(ctx); err != nil {
		return err
	}
	return b.container(ctx)
}

// runMode boots the mode's VM on host A and migrates it 2n times.
func (b *bench) runMode(ctx context.Context, m modeSpec, i int) error {
	v, err := b.setupMode(ctx, m, i)
	if err != nil {
		return err
	}
	if err := b.measureMode(ctx, m, v, i); err != nil {
		return err
	}
	if !m.naive {
		b.checkHandoff(m)
	}
	b.teardownMode(ctx, m, v)
	return nil
}

// setupMode readies the hosts for mode m (the hook, the daemons, the
// traces, the sniffers) and boots its VM on host A.
func (b *bench) setupMode(ctx context.Context, m modeSpec, i int) (*vm, error) {
	if err := b.prepareMode(ctx, m); err != nil {
		return nil, err
	}
	v := &vm{name: vmPrefix + m.name, iface: uuid(), mac: fmt.Sprintf("52:54:00:21:13:%02x", i+1)}
	v.console = filepath.Join(b.tmp, v.name+".console")
	b.trace.setPort(v.iface)
	b.closeSniffers()
	for _, h := range []string{"a", "b"} {
		s, err := startSniffer(map[string]string{"a": b.nsA, "b": b.nsB}[h], v.mac)
		if err != nil {
			return nil, fmt.Errorf("packet sniffer in host %s: %w", h, err)
		}
		b.sniff[h] = s
	}
	if m.naive {
		v.ip = naiveIP
		if err := b.naivePort(ctx, v, b.env["QN_CHASSIS_A"]); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	if err := b.bootVM(ctx, v, !m.naive); err != nil {
		return nil, err
	}
	logf("%s: VM %s (%s) up on host A after %s; %d migrations", m.name, v.name, v.ip, time.Since(t0).Round(100*time.Millisecond), 2**flagN)
	if !m.naive {
		addrs := b.nbGet(ctx, v.iface, "addresses")
		if !strings.Contains(addrs, v.ip) || !strings.Contains(addrs, v.mac) {
			return nil, fmt.Errorf("VM DHCP address %s, logical port addresses %s", v.ip, addrs)
		}
		if err := b.floatingIP(ctx, v, i); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// prepareMode sets the qemu hook and the daemons' chassis.manage as mode m
// wants them, and restarts the libvirt event traces.
func (b *bench) prepareMode(ctx context.Context, m modeSpec) error {
	if m.hook != b.hookOn {
		logf("%s: %s the qemu hook (nhost.sh up, libvirtd reload)", m.name, map[bool]string{true: "installing", false: "removing"}[m.hook])
		if err := b.hostsUp(ctx, m.hook); err != nil {
			return err
		}
	}
	if !m.naive && m.manage != b.daemonManage {
		logf("%s: restarting the daemons with chassis.manage=%v", m.name, m.manage)
		b.stopDaemons()
		if err := b.startDaemons(ctx, m.manage); err != nil {
			return err
		}
	}
	// libvirt events of this mode (a reloaded libvirtd may drop watchers).
	for _, p := range b.trace.procs {
		p.Process.Kill()
		p.Wait()
	}
	b.trace.procs = nil
	for _, h := range []string{"a", "b"} {
		if err := b.trace.startLibvirt(b.env["QN_LIBVIRT_URI_"+strings.ToUpper(h)], h); err != nil {
			return err
		}
	}
	return nil
}

// measureMode runs mode m's measurements on v: the reference pauses (on
// the first mode only), then 2*n migrations back and forth.
func (b *bench) measureMode(ctx context.Context, m modeSpec, v *vm, i int) error {
	if i == 0 {
		// The measurement's own floor, once per run: the guest paused
		// and resumed on host A, nothing moving in the network.
		for k := 1; k <= *flagN && ctx.Err() == nil; k++ {
			r, err := b.pause(ctx, v, k, 200*time.Millisecond)
			if err != nil {
				return err
			}
			b.results = append(b.results, r)
			logf("%s", r.line())
			time.Sleep(200 * time.Millisecond)
		}
	}
	count := map[string]int{}
	for k := 0; k < 2**flagN && ctx.Err() == nil; k++ {
		to := map[string]string{"a": "b", "b": "a"}[v.host]
		dir := v.host + to
		count[dir]++
		r, err := b.migrate(ctx, m.name, v, count[dir], to, m.naive)
		if err != nil {
			return err
		}
		b.results = append(b.results, r)
		logf("%s", r.line())
		if *flagVerbose {
			for _, e := range r.Timeline {
				logf("    %7s ms  %-9s %s", rel(e.At, r.Start), e.Src, e.What)
			}
		}
		if r.Err != "" {
			b.problem("%s %s->%s #%d: %s", m.name, r.From, r.To, r.Index, r.Err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// checkHandoff records as problems of a QuantumNet mode m the echo
// requests handed to a destination's tap too early and a handoff that
// ended on the source's hook rather than on libvirt's events.
func (b *bench) checkHandoff(m modeSpec) {
	// When did the handoff end (NB: the destination alone), measured
	// from the guest's resume? The design ends it on libvirt's
	// RESUMED_MIGRATED / STOPPED_MIGRATED events; the source's
	// stopped/release hook comes only when virsh is about done.
	var lag []float64
	for _, r := range b.results {
		if r.Mode == m.name && !r.NBFinal.IsZero() && !r.Resumed.IsZero() {
			lag = append(lag, float64(r.NBFinal.Sub(r.Resumed))/1e6)
		}
	}
	watching := 0
	for _, h := range []string{"a", "b"} {
		if c, _ := os.ReadFile(filepath.Join(b.tmp, "quantumnetd-"+h+".log")); strings.Contains(string(c), "libvirt: following domain events") {
			watching++
		}
	}
	var leaky, leaked int
	var at []string
	for _, r := range b.results {
		if r.Mode == m.name && r.TapEarly > 0 {
			leaky++
			leaked += r.TapEarly
			at = append(at, fmt.Sprintf("%s->%s #%d at %s ms (SB bound the destination at %s)", strings.ToUpper(r.From), strings.ToUpper(r.To), r.Index, rel(r.TapEarlyAt, r.Start), rel(firstSB(r, "additional="+b.env["QN_CHASSIS_"+strings.ToUpper(r.To)]), r.Start)))
		}
	}
	if leaky > 0 {
		b.problem("%s: on %d of %d migrations the network handed %d echo request(s) to the destination's tap before QEMU's RARP, i.e. before activation-strategy=rarp let it: %s",
			m.name, leaky, 2**flagN, leaked, strings.Join(at, "; "))
	}
	if st := stats(lag); st.N > 0 && st.Median > 500 {
		b.problem("%s: the handoff ended (NB requested-chassis=DST alone) %.0f ms [%.0f-%.0f] after the guest resumed, i.e. on the source's stopped/release hook, not on libvirt's RESUMED/STOPPED_MIGRATED events; %d of 2 daemon logs say \"libvirt: following domain events\" (chassis.manage=%v)",
			m.name, st.Median, st.Min, st.Max, watching, b.daemonManage)
	}
}

// teardownMode removes mode m's VM, its floating IP and the sniffers, and
// checks that the daemon released a QuantumNet VM's port.
func (b *bench) teardownMode(ctx context.Context, m modeSpec, v *vm) {
	b.removeVM(v)
	b.dropFIP(ctx, v)
	b.closeSniffers()
	if !m.naive {
		// A QuantumNet VM's port and address are released when libvirt
		// says the domain is undefined (the daemon's libvirt watcher).
		if !ovsdbtest.Until(ctx, 5*time.Second, func() bool { return b.nbGet(ctx, v.iface, "name") == "" }) {
			b.problem("%s: 5 s after `virsh undefine` the VM's logical port %s is still in NB (owner chassis %s): nothing released it (daemons' libvirt watcher on: %v)",
				m.name, v.iface, b.nbGet(ctx, v.iface, `external_ids:"quantumnet:chassis"`), b.daemonManage)
		}
	}
}

// firstSB is the first SB change of r's timeline containing what.
func firstSB(r *result, what string) time.Time {
	for _, e := range r.Timeline {
		if e.Src == "sb" && strings.Contains(e.What, what) {
			return e.At
		}
	}
	return time.Time{}
}

func (b *bench) closeSniffers() {
	for h, s := range b.sniff {
		s.close()
		delete(b.sniff, h)
	}
}

func (b *bench) dumpLogs() {
	for _, h := range []string{"a", "b"} {
		p := filepath.Join(b.tmp, "quantumnetd-"+h+".log")
		if _, err := os.Stat(p); err == nil {
			logf("quantumnetd %s log (tail):\n%s", h, harness.TailFile(p, 25))
		}
	}
}

func (b *bench) cleanup() error {
	var errs []string
	b.trace.close()
	b.closeSniffers()
	b.killPingers()
	for _, v := range b.vms {
		b.removeVM(v)
	}
	b.containerDown()
	b.stopDaemons()
	if err := b.hostsDown(); err != nil {
		errs = append(errs, err.Error())
	}
	for _, ns := range []string{b.nsA, b.nsB, b.ctrNS} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			errs = append(errs, "network namespace "+ns+" still exists")
		}
	}
	if *flagKeep {
		logf("temp dir kept: %s", b.tmp)
	} else if len(errs) == 0 {
		os.RemoveAll(b.tmp)
	} else {
		logf("temp dir kept for inspection: %s", b.tmp)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
