package main

import (
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// round is one chassis count's figures (latencies in ms).
type round struct {
	N         int     `json:"chassis"`
	Error     string  `json:"error,omitempty"`
	UpSeconds float64 `json:"up_s"`
	IdleCPU   float64 `json:"idle_chassis_cpu_cores"` // all chassis' vswitchd + ovn-controller, idle
	ADDs      int     `json:"adds"`
	Retried   int     `json:"retried"`
	P50       float64 `json:"add_p50_ms"`
	P99       float64 `json:"add_p99_ms"`
	Max       float64 `json:"add_max_ms"`
	// P50First and P50Last are the p50 of each chassis' first and last
	// fifth of its ADDs: how ADD latency grows as the ports fill up.
	P50First   float64 `json:"add_p50_first_fifth_ms"`
	P50Last    float64 `json:"add_p50_last_fifth_ms"`
	AddSeconds float64 `json:"add_phase_s"`
	AddsPerSec float64 `json:"adds_per_s"`
	Busy       float64 `json:"machine_busy"` // share of all CPUs during the ADDs
	// OwnCores is the CPU of the followed processes (central, and per
	// chassis ovn-controller, ovs-vswitchd, quantumnetd) during the ADDs,
	// in cores; NorthdRecomputes northd's full lflow recomputes then.
	OwnCores         float64          `json:"own_cores"`
	NorthdRecomputes int              `json:"northd_lflow_recomputes"`
	Central          map[string]usage `json:"central"`
	Hosts            []*hostResult    `json:"hosts"`
	SBLflows         int              `json:"sb_logical_flows"`
	SBPortBindings   int              `json:"sb_port_bindings"`
	Pairs            int              `json:"ping_pairs"`
	PairsFailed      int              `json:"ping_pairs_failed"`
	// ConvergeMs is the time from the last ADD until every chassis caught up
	// with NB (ovn-nbctl --wait=hv sync); PairsRetried the pairs that
	// answered only the second time.
	ConvergeMs   float64   `json:"converge_ms"`
	PairsRetried int       `json:"ping_pairs_retried"`
	NetRuns      []*netRun `json:"new_network"`
}

// hostResult is one chassis' figures during the ADDs.
type hostResult struct {
	Host       string  `json:"host"`
	ADDs       int     `json:"adds"`
	P50        float64 `json:"add_p50_ms"`
	P99        float64 `json:"add_p99_ms"`
	Max        float64 `json:"add_max_ms"`
	Controller usage   `json:"ovn_controller"`
	Vswitchd   usage   `json:"ovs_vswitchd"`
	Daemon     usage   `json:"quantumnetd"`
	Recomputes int     `json:"lflow_recomputes"`
	Flows      int     `json:"openflow_flows"`
}

// netRun is one new network: from the create to the create's return, to the
// last chassis' ADD, to every chassis' ping answered.
type netRun struct {
	CreateMs float64 `json:"create_ms"`
	AddMs    float64 `json:"last_add_ms"`
	UsableMs float64 `json:"usable_ms"`
}

// sum is the sum of f over the hosts, mean the mean.
func (r *round) sum(f func(*hostResult) float64) float64 {
	var s float64
	for _, h := range r.Hosts {
		s += f(h)
	}
	return s
}

func (r *round) mean(f func(*hostResult) float64) float64 {
	if len(r.Hosts) == 0 {
		return 0
	}
	return r.sum(f) / float64(len(r.Hosts))
}

// centralCPU is northd + NB + SB CPU seconds during the ADDs.
func (r *round) centralCPU() float64 {
	return r.Central[pNorthd].CPUSeconds + r.Central[pNB].CPUSeconds + r.Central[pSB].CPUSeconds
}

// usable is the median time until a new network was usable on all chassis.
func (r *round) usable() float64 {
	var d []time.Duration
	for _, n := range r.NetRuns {
		if n.UsableMs > 0 {
			d = append(d, time.Duration(n.UsableMs*1e6))
		}
	}
	return ms(harness.Median(d))
}

// report prints the curve, the headline round's chassis and the targets,
// and writes -json.
func report(rounds []*round) error {
	fmt.Printf("\nN chassis on one machine (scripts/nhost.sh: userspace datapath, one central NB/SB/northd, Geneve)\n")
	fmt.Printf("%d containers per chassis added through the CNI plugin, all chassis at once (%d in flight per chassis);\n", *flagPer, *flagParallel)
	if *flagMonitorAll {
		fmt.Println("ovn-monitor-all=true on every chassis")
	}
	fmt.Printf("%d CPUs, load average %s; CPU from /proc (utime+stime) during the ADDs, RSS peak sampled every 100 ms;\n", runtime.NumCPU(), loadavg())
	fmt.Printf("our CPU: northd, NB, SB and every chassis' ovn-controller, ovs-vswitchd and quantumnetd during the ADDs, in cores (of %d);\n", runtime.NumCPU())
	fmt.Printf("idle chassis CPU: all chassis' ovs-vswitchd + ovn-controller before the ADDs, in %% of one core\n\n")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "chassis\tADDs\tp50\tp99\tmax\tp50 first/last fifth\tADDs/s\tmachine busy\tour CPU\tnorthd CPU\tNB CPU\tSB CPU\tcentral CPU/ADD\tnorthd recomputes\tnorthd/NB/SB peak RSS\t")
	for _, r := range rounds {
		if r.ADDs == 0 {
			fmt.Fprintf(w, "%d\tFAILED: %s\t\t\t\t\t\t\t\t\t\t\t\n", r.N, firstLine(r.Error))
			continue
		}
		c := r.Central
		fmt.Fprintf(w, "%d\t%d\t%.0f ms\t%.0f ms\t%.0f ms\t%.0f / %.0f ms\t%.1f\t%.0f%%\t%.2f cores\t%.2f s\t%.2f s\t%.2f s\t%.1f ms\t%d\t%s / %s / %s\t\n",
			r.N, r.ADDs, r.P50, r.P99, r.Max, r.P50First, r.P50Last, r.AddsPerSec, 100*r.Busy, r.OwnCores, c[pNorthd].CPUSeconds, c[pNB].CPUSeconds, c[pSB].CPUSeconds,
			1000*r.centralCPU()/float64(r.ADDs), r.NorthdRecomputes, mib(c[pNorthd].PeakRSSKB), mib(c[pNB].PeakRSSKB), mib(c[pSB].PeakRSSKB))
	}
	w.Flush()
	fmt.Println()
	fmt.Fprintln(w, "chassis\tidle chassis CPU\tovn-controller CPU/chassis\tlflow recomputes/chassis\tovs-vswitchd CPU/chassis\tquantumnetd CPU/chassis\tSB lflows\tSB port bindings\tOpenFlow flows/chassis\tping pairs ok\tconverged after the ADDs\tnew network usable (median)\t")
	for _, r := range rounds {
		if r.ADDs == 0 {
			continue
		}
		fmt.Fprintf(w, "%d\t%.1f%%\t%.2f s\t%.1f\t%.2f s\t%.2f s\t%d\t%d\t%.0f\t%d/%d%s\t%.0f ms\t%s\t\n", r.N, 100*r.IdleCPU,
			r.mean(func(h *hostResult) float64 { return h.Controller.CPUSeconds }),
			r.mean(func(h *hostResult) float64 { return float64(h.Recomputes) }),
			r.mean(func(h *hostResult) float64 { return h.Vswitchd.CPUSeconds }),
			r.mean(func(h *hostResult) float64 { return h.Daemon.CPUSeconds }),
			r.SBLflows, r.SBPortBindings, r.mean(func(h *hostResult) float64 { return float64(h.Flows) }),
			r.Pairs-r.PairsFailed, r.Pairs, retried(r.PairsRetried), r.ConvergeMs, msOrDash(r.usable()))
	}
	w.Flush()
	head := headline(rounds)
	if head != nil {
		perChassis(head)
	}
	targets(rounds, head)
	if *flagJSON != "" {
		return harness.WriteJSON(*flagJSON, map[string]any{"time": time.Now().UTC().Format(time.RFC3339), "cpus": runtime.NumCPU(), "rounds": rounds})
	}
	return nil
}

// headline is the round of -hosts chassis, nil if it did not run.
func headline(rounds []*round) *round {
	for _, r := range rounds {
		if r.N == *flagHosts && r.ADDs > 0 {
			return r
		}
	}
	return nil
}

// perChassis prints each chassis' ADDs and processes of round r.
func perChassis(r *round) {
	fmt.Printf("\n%d chassis, each while all add at once:\n", r.N)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "host\tADDs\tp50\tp99\tmax\tovn-controller CPU\tlflow recomputes\tovs-vswitchd CPU\tquantumnetd CPU\tovn-controller / vswitchd / quantumnetd peak RSS\tOpenFlow flows\t")
	for _, h := range r.Hosts {
		fmt.Fprintf(w, "%s\t%d\t%.0f ms\t%.0f ms\t%.0f ms\t%.2f s\t%d\t%.2f s\t%.2f s\t%s / %s / %s\t%d\t\n", h.Host, h.ADDs, h.P50, h.P99, h.Max,
			h.Controller.CPUSeconds, h.Recomputes, h.Vswitchd.CPUSeconds, h.Daemon.CPUSeconds,
			mib(h.Controller.PeakRSSKB), mib(h.Vswitchd.PeakRSSKB), mib(h.Daemon.PeakRSSKB), h.Flows)
	}
	w.Flush()
	fmt.Printf("new network runs:")
	for _, n := range r.NetRuns {
		fmt.Printf(" [create %.0f ms, last ADD %.0f ms, all chassis ping %.0f ms]", n.CreateMs, n.AddMs, n.UsableMs)
	}
	fmt.Println()
}

// targets prints the targets of the headline round against the smallest
// chassis count (the peer run of the same run).
func targets(rounds []*round, head *round) {
	peer := rounds[0]
	fmt.Printf("\nTargets (%d chassis; the peer is the %d-chassis round of this run):\n", *flagHosts, peer.N)
	line := func(name string, met bool, measured bool, detail string) {
		state := "not measured"
		switch {
		case *flagSmoke:
			state = "n/a (-smoke)"
		case !measured:
		case met:
			state = "MET"
		default:
			state = "NOT MET"
		}
		fmt.Printf("  %-66s %-12s %s\n", name, state, detail)
	}
	if head == nil {
		line("every target", false, false, "(the headline round failed)")
		return
	}
	line("cross-chassis ping matrix: every sampled pair answers", head.PairsFailed == 0 && head.Pairs > 0, true,
		fmt.Sprintf("(%d/%d pairs; a failed pair fails the run)", head.Pairs-head.PairsFailed, head.Pairs))
	line("new network usable on all chassis <= 2 s (median)", head.usable() > 0 && head.usable() <= 2000, head.usable() > 0,
		fmt.Sprintf("(%s)", msOrDash(head.usable())))
	okPeer := peer != head && peer.ADDs > 0
	line(fmt.Sprintf("ADD p50 with %d chassis adding <= 2 x p50 with %d", head.N, peer.N), okPeer && head.P50 <= 2*peer.P50, okPeer,
		fmt.Sprintf("(%.0f ms vs 2 x %.0f ms)", head.P50, peer.P50))
	hc, pc := head.centralCPU()/float64(head.ADDs), peer.centralCPU()/float64(max(peer.ADDs, 1))
	line(fmt.Sprintf("northd+NB+SB CPU per ADD with %d chassis <= 1.5 x with %d", head.N, peer.N), okPeer && hc <= 1.5*pc, okPeer,
		fmt.Sprintf("(%.1f ms vs 1.5 x %.1f ms)", 1000*hc, 1000*pc))
	fmt.Println()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	var a, b5, c float64
	fmt.Sscanf(string(b), "%f %f %f", &a, &b5, &c)
	return fmt.Sprintf("%.2f %.2f %.2f", a, b5, c)
}

func mib(kb int64) string {
	if kb <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
}

func retried(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d on a 2nd try)", n)
}

func msOrDash(v float64) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", v)
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
