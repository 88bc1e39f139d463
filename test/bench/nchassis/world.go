package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/test/harness"
)

// mainNet is the network every round's containers are on.
const (
	mainNet    = "ncmain"
	mainSubnet = "10.214.0.0/20"
)

// world is one round's chassis: the hosts, their daemons and CNI drivers,
// and what to undo (the last made first).
type world struct {
	env     *harness.Env
	n       int
	nh      *harness.NHost
	hosts   []string
	daemons map[string]*harness.Daemon
	// containers are the ADDs of the add phase, by host.
	containers map[string][]harness.AddRecord
	undo       []func()
	noted      map[string]bool // noteOnce's keys
	mu         sync.Mutex
}

// up brings n hosts up (no libvirt, no outside network), a quantumnetd on
// each, and the round's network.
func (w *world) up() error {
	pid := os.Getpid() % 100000
	w.nh = &harness.NHost{Dir: fmt.Sprintf("/tmp/qn-nc-%d-%d", pid, w.n), Hosts: w.n, Libvirt: []string{}, NoOutside: true,
		NetnsPrefix: fmt.Sprintf("qnnc%dn%d", pid, w.n), Vars: map[string]string{}}
	if err := w.nh.Up(w.env); err != nil {
		return err
	}
	w.hosts = w.nh.Names()
	if *flagMonitorAll {
		for _, h := range w.hosts {
			if out, err := exec.Command("ovs-vsctl", "--db="+w.nh.Var("QN_OVS_REMOTE_", h), "set", "Open_vSwitch", ".",
				"external_ids:ovn-monitor-all=true").CombinedOutput(); err != nil {
				return fmt.Errorf("host %s: ovn-monitor-all: %v: %s", h, err, out)
			}
		}
	}
	var err error
	w.daemons, err = w.nh.StartDaemons(w.hosts, 60*time.Second, func(_ string, c *harness.DaemonConfig) { c.LogLevel = "info" })
	if err != nil {
		return err
	}
	return w.createNetwork(mainNet, mainSubnet)
}

// createNetwork creates network through host a's daemon; it is deleted at
// close.
func (w *world) createNetwork(name, subnet string) error {
	if err := w.qn("network", "create", name, "--subnet4", subnet, "--mtu", "1400"); err != nil {
		return err
	}
	w.push(func() {
		if err := w.qn("network", "delete", name); err != nil {
			logf("%v", err)
		}
	})
	return nil
}

// qn runs qnetctl on host a's daemon, its output in the error.
func (w *world) qn(args ...string) error {
	if out, err := w.daemons[w.hosts[0]].Qnetctl(args...); err != nil {
		return fmt.Errorf("qnetctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (w *world) push(f func()) {
	w.mu.Lock()
	w.undo = append(w.undo, f)
	w.mu.Unlock()
}

// cni is the CNI driver of host h's daemon on network, with its own
// cache directory.
func (w *world) cni(h, network string) (*harness.CNI, error) {
	list, err := libcni.ConfListFromBytes([]byte(harness.ConfList(network, network, w.daemons[h].ClientSocket, "")))
	if err != nil {
		return nil, err
	}
	cache := filepath.Join(w.env.Tmp, fmt.Sprintf("cache-%d-%s", w.n, h))
	return &harness.CNI{Config: libcni.NewCNIConfigWithCacheDir([]string{w.env.Bin}, cache, nil), List: list}, nil
}

// close undoes everything (CNI DELs, networks), stops the daemons and takes
// the hosts down; it fails if one of the round's namespaces is left.
func (w *world) close() error {
	for i := len(w.undo) - 1; i >= 0; i-- {
		w.undo[i]()
	}
	var wg sync.WaitGroup
	for _, d := range w.daemons {
		wg.Add(1)
		go func() { defer wg.Done(); d.Stop() }()
	}
	wg.Wait()
	if w.nh == nil || w.nh.Env == nil {
		return nil
	}
	if out, err := w.nh.Script("nhost.sh", "down"); err != nil {
		return fmt.Errorf("nhost down: %v\n%s", err, harness.Tail(out, 20))
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	var left []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (strings.HasPrefix(f[0], w.nh.NetnsPrefix+"-") || w.ours(f[0])) {
			left = append(left, f[0])
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("namespaces left: %s", strings.Join(left, ", "))
	}
	return nil
}

// noteOnce logs msg the first time key is noted in the round.
func (w *world) noteOnce(key, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.noted == nil {
		w.noted = map[string]bool{}
	}
	if !w.noted[key] {
		w.noted[key] = true
		logf("NOTE: %s", msg)
	}
}

// dumpLogs logs the tail of each daemon's log.
func (w *world) dumpLogs() {
	for _, h := range w.hosts {
		if d := w.daemons[h]; d != nil {
			logf("quantumnetd on host %s (log tail):\n%s", h, harness.TailFile(d.LogPath, 15))
		}
	}
}

// pidOf is the pid of daemon (ovn-northd, ovsdb-server-nb, ...) from its
// pid file in dir ("central" or a host), 0 if unknown.
func (w *world) pidOf(dir, daemon string) int {
	b, err := os.ReadFile(filepath.Join(w.nh.Dir, dir, daemon+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// sbCount is the number of rows of an SB table.
func (w *world) sbCount(table string) int {
	out, err := exec.Command("ovn-sbctl", "--db="+w.nh.Vars["QN_SB_REMOTE"], "--format=csv", "--no-headings", "--columns=_uuid", "list", table).Output()
	if err != nil {
		return -1
	}
	return strings.Count(string(out), "\n")
}

// flows is the number of OpenFlow flows on host h's br-int.
func (w *world) flows(h string) int {
	out, err := exec.Command("ovs-ofctl", "dump-aggregate", "unix:"+filepath.Join(w.nh.Dir, h, "br-int.mgmt")).Output()
	if err != nil {
		return -1
	}
	_, v, ok := strings.Cut(string(out), "flow_count=")
	if !ok {
		return -1
	}
	n, _ := strconv.Atoi(strings.Fields(v)[0])
	return n
}

// recomputes is ovn-controller's full recomputes of its logical flows on
// host h so far, -1 if unknown.
func (w *world) recomputes(ctx context.Context, h string) int {
	pid := w.pidOf(h, "ovn-controller")
	// The node is logical_flow_output in OVN 23.03, lflow_output elsewhere.
	return w.engineRecomputes(ctx, filepath.Join(w.nh.Dir, h, fmt.Sprintf("ovn-controller.%d.ctl", pid)), "logical_flow_output", "lflow_output")
}

// northdRecomputes is ovn-northd's full recomputes of the logical flows so
// far, -1 if unknown.
func (w *world) northdRecomputes(ctx context.Context) int {
	return w.engineRecomputes(ctx, filepath.Join(w.nh.Dir, "central", "ovn-northd.ctl"), "lflow")
}

// engineRecomputes is the recompute count of the first of nodes that the
// daemon at ctl reports in inc-engine/show-stats, -1 if none.
func (w *world) engineRecomputes(ctx context.Context, ctl string, nodes ...string) int {
	out, err := exec.CommandContext(ctx, "ovn-appctl", "-t", ctl, "inc-engine/show-stats").CombinedOutput()
	if err == nil {
		for _, node := range nodes {
			if n := parseRecomputes(string(out), node); n >= 0 {
				return n
			}
		}
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Node:") {
			names = append(names, strings.TrimSpace(strings.TrimPrefix(l, "Node:")))
		}
	}
	w.noteOnce(ctl, fmt.Sprintf("ovn-appctl -t %s inc-engine/show-stats: %v: no node %v in %v %s", ctl, err, nodes, names, harness.Tail(string(out), 3)))
	return -1
}

// parseRecomputes reads node's recompute count from inc-engine/show-stats
// ("Node: NAME" then "- recompute: N" lines, or one line per node).
func parseRecomputes(out, node string) int {
	in := false
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "Node:") {
			in = strings.TrimSpace(strings.TrimPrefix(t, "Node:")) == node
			if !in {
				continue
			}
		}
		if !in {
			continue
		}
		if _, v, ok := strings.Cut(t, "recompute:"); ok {
			f := strings.Fields(strings.TrimLeft(v, " -"))
			if len(f) > 0 {
				if n, err := strconv.Atoi(strings.Trim(f[0], ",")); err == nil {
					return n
				}
			}
		}
	}
	return -1
}
