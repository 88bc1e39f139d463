package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// ---------------------------------------------------------------- phases of an ADD

// phaseLine is one phase of the ADD path: its p50 per contender and mode
// (milliseconds; missing: not measured or not part of that contender).
type phaseLine struct {
	Phase string             `json:"phase"`
	P50ms map[string]float64 `json:"p50_ms"` // "quantumnet sequential" ->
}

// attached is what quantumnetd logged for one ADD ("attached" line).
type attached struct {
	d     map[string]time.Duration // prep, ipam, nbtxn, veth_create, nb, veth, ovs, installed, veth_wait, total
	batch int                      // ovs_batch
}

var logAttr = regexp.MustCompile(`(\w+)=("[^"]*"|\S+)`)

// daemonAttached reads the daemon log's "attached" lines by container ID.
func (b *bench) daemonAttached() map[string]attached {
	out := map[string]attached{}
	data, err := os.ReadFile(b.daemonLog())
	if err != nil {
		b.problem("reading the daemon log for the phases: %v", err)
		return out
	}
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, "msg=attached") {
			continue
		}
		a := attached{d: map[string]time.Duration{}}
		id := ""
		for _, m := range logAttr.FindAllStringSubmatch(l, -1) {
			switch k, v := m[1], strings.Trim(m[2], `"`); k {
			case "container":
				id = v
			case "ovs_batch":
				a.batch, _ = strconv.Atoi(v)
			case "prep", "ipam", "nbtxn", "veth_create", "nb", "veth", "ovs", "installed", "veth_wait", "total":
				if d, err := time.ParseDuration(v); err == nil {
					a.d[k] = d
				}
			}
		}
		if id != "" {
			out[id] = a
		}
	}
	return out
}

// qnPhaseNames are quantumnet's phases in path order (the "-" lines are
// parts of the line above them); the floor has the OVS insert and the wait.
var qnPhaseNames = []string{
	"plugin exec + RPC (client latency - daemon's ADD)",
	"prep: checks, lookups, attachment lock",
	"logical port and veth pair, in parallel (elapsed)",
	"  - IPAM (incl. waiting for the network's lock)",
	"  - NB transaction (logical port + reservations)",
	"  - veth pair creation (alongside IPAM + NB)",
	"veth: container end configured (alongside the next two)",
	"OVS insert (Interface+Port+br-int ports)",
	"wait for flows (ovn-installed)",
	"rest (after flows, incl. waiting for the veth)",
}

// qnPhases splits each quantumnet ADD of pr into qnPhaseNames (by index);
// batches are the ovs_batch values.
func qnPhases(pr *phaseResult, logged map[string]attached) (phases [][]time.Duration, batches []int) {
	phases = make([][]time.Duration, len(qnPhaseNames))
	// The log keys of each line (an older daemon logs fewer: its lines
	// stay empty); "" are the computed ones.
	keys := []string{"", "prep", "nb", "ipam", "nbtxn", "veth_create", "veth", "ovs", "installed", ""}
	for i, a := range pr.atts {
		at, ok := logged[a.id]
		if !ok || i >= len(pr.lat) {
			continue
		}
		d := at.d
		for j, k := range keys {
			v, ok := d[k]
			switch j {
			case 0:
				v, ok = pr.lat[i]-d["prep"]-d["total"], true
			case len(keys) - 1:
				// A daemon that configures the veth alongside the OVS
				// insert and the wait logs veth_wait (part of the rest);
				// an older one configured it before the insert.
				v, ok = d["total"]-d["nb"]-d["ovs"]-d["installed"], true
				if _, alongside := d["veth_wait"]; !alongside {
					v -= d["veth"]
				}
			}
			if ok {
				phases[j] = append(phases[j], v)
			}
		}
		batches = append(batches, at.batch)
	}
	return phases, batches
}

func p50ms(ds []time.Duration) (float64, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return ms(percentile(s, 50)), true
}

// phaseLines prints where an ADD's time goes, a line per phase: p50 of
// quantumnet's phases (daemon log and plugin-side latency) next to the
// floor's two timed parts, in both modes.
func (b *bench) phaseLines(get func(c, mode string) *phaseResult) []phaseLine {
	logged := b.daemonAttached()
	modes := []string{modeName(1), modeName(*flagParallel)}
	lines := make([]phaseLine, len(qnPhaseNames))
	for i, n := range qnPhaseNames {
		lines[i] = phaseLine{Phase: n, P50ms: map[string]float64{}}
	}
	var batchNote []string
	for _, mode := range modes {
		if qn := get(cQN, mode); qn != nil {
			phases, batches := qnPhases(qn, logged)
			if len(batches) < len(qn.atts) {
				b.problem("quantumnet %s: %d of %d ADDs have no \"attached\" line in the daemon log", mode, len(qn.atts)-len(batches), len(qn.atts))
			}
			for i, ds := range phases {
				if v, ok := p50ms(ds); ok {
					lines[i].P50ms[cQN+" "+mode] = v
				}
			}
			batchNote = append(batchNote, fmt.Sprintf("%s: %s", mode, batchSummary(batches)))
		}
		if fl := get(cFloor, mode); fl != nil && b.floor != nil {
			ins, wait := b.floor.times(fl.atts)
			if v, ok := p50ms(ins); ok {
				lines[7].P50ms[cFloor+" "+mode] = v
			}
			if v, ok := p50ms(wait); ok {
				lines[8].P50ms[cFloor+" "+mode] = v
			}
		}
	}
	fmt.Println("\nWhere a quantumnet ADD's time goes (p50 of each phase; the floor has the last two only):")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "phase\t")
	for _, c := range []string{cQN, cFloor} {
		for _, mode := range modes {
			fmt.Fprintf(w, "%s %s\t", c, mode)
		}
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t", l.Phase)
		for _, c := range []string{cQN, cFloor} {
			for _, mode := range modes {
				if v, ok := l.P50ms[c+" "+mode]; ok {
					fmt.Fprintf(w, "%.2f ms\t", v)
				} else {
					fmt.Fprintf(w, "-\t")
				}
			}
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	if b.pluginStartP50 > 0 && b.dialP50 > 0 {
		fmt.Printf("of the first line, measured apart (sequential, p50): starting the plugin process (CNI VERSION) %.2f ms,\n"+
			"connecting to the daemon (go-plugin handshake + Hello, from this process) %.2f ms; the rest is the ADD RPC, libcni and the plugin's exit\n",
			b.pluginStartP50, b.dialP50)
	}
	if len(batchNote) > 0 {
		fmt.Printf("quantumnet OVS inserts per transaction (ADDs arriving together share one): %s\n", strings.Join(batchNote, "; "))
	}
	return lines
}

// pluginStart times the quantumnet plugin's process start: CNI VERSION
// through libcni, which only execs it (no daemon).
func (b *bench) pluginStart(ctx context.Context) {
	var ds []time.Duration
	for range 20 {
		if ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		if _, err := b.cni.GetVersionInfo(ctx, "quantumnet"); err != nil {
			b.problem("quantumnet VERSION: %v", err)
			return
		}
		ds = append(ds, time.Since(t0))
	}
	b.pluginStartP50, _ = p50ms(ds)
	ds = ds[:0]
	for range 20 {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		t0 := time.Now()
		cl, err := rpcclient.Dial(dctx, b.daemon.ClientSocket, "cniadd-bench")
		d := time.Since(t0)
		cancel()
		if err != nil {
			b.problem("dialling quantumnetd: %v", err)
			return
		}
		cl.Close()
		ds = append(ds, d)
	}
	b.dialP50, _ = p50ms(ds)
}

// batchSummary: how the ADDs' OVS inserts were batched.
func batchSummary(batches []int) string {
	if len(batches) == 0 {
		return "?"
	}
	sum, most, shared := 0, 0, 0
	for _, n := range batches {
		sum += n
		most = max(most, n)
		if n > 1 {
			shared++
		}
	}
	if sum == 0 {
		return "not logged (a daemon without batching)"
	}
	return fmt.Sprintf("%d of %d ADDs shared a transaction, mean batch %.1f, largest %d", shared, len(batches), float64(sum)/float64(len(batches)), most)
}
