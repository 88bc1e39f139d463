package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// ---------------------------------------------------------------- report

type target struct {
	Mode   string `json:"mode"`
	Target string `json:"target"`
	Met    *bool  `json:"met"` // nil: not measured
	Detail string `json:"detail"`
}

type report struct {
	Time          string         `json:"time"`
	DaemonVersion string         `json:"daemon_version"`
	N             int            `json:"n"`
	Parallel      int            `json:"parallel"`
	Warmup        int            `json:"warmup"`
	CPUs          int            `json:"cpus"`
	LoadStart     string         `json:"loadavg_start"`
	LoadEnd       string         `json:"loadavg_end"`
	Results       []*phaseResult `json:"results"`
	Ratios        []ratio        `json:"ratios"`
	Daemon        struct {
		PID          int   `json:"pid"`
		VmRSSStartKB int64 `json:"vmrss_start_kb"`
		VmRSSKB      int64 `json:"vmrss_kb"`
		VmHWMKB      int64 `json:"vmhwm_kb"`
	} `json:"quantumnetd"`
	Targets  []target    `json:"targets"`
	Phases   []phaseLine `json:"phases"`
	Problems []string    `json:"problems,omitempty"`
}

type ratio struct {
	Contender string  `json:"contender"`
	Mode      string  `json:"mode"`
	P50       float64 `json:"p50_over_quantumnet_p50"`
	P99       float64 `json:"p99_over_quantumnet_p99"`
	Mean      float64 `json:"mean_over_quantumnet_mean"`
	Rate      float64 `json:"adds_per_sec_over_quantumnet"`
}

func (b *bench) report(results []*phaseResult) *report {
	rep := &report{Time: time.Now().UTC().Format(time.RFC3339), DaemonVersion: b.daemonVersion, N: *flagN,
		Parallel: *flagParallel, Warmup: *flagWarmup, CPUs: runtime.NumCPU(), LoadStart: b.loadStart, LoadEnd: loadavg(),
		Results: results, Problems: b.problems}
	rep.Daemon.PID = b.daemon.Pid()
	rep.Daemon.VmRSSStartKB, rep.Daemon.VmRSSKB, rep.Daemon.VmHWMKB = b.rssStart, b.rssEnd, b.hwmEnd

	get := func(c, mode string) *phaseResult {
		for _, r := range results {
			if r.Contender == c && r.Mode == mode && r.Error == "" {
				return r
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Printf("\nCNI ADD latency through libcni (AddNetworkList, real plugin binaries), cniVersion %s\n", cniVersion)
	fmt.Printf("n=%d per mode, parallel mode %d at a time, %d untimed warm-up ADD+DEL per contender; each ADD into a fresh netns\n",
		*flagN, *flagParallel, *flagWarmup)
	fmt.Printf("(netns creation and DEL not timed); %d CPUs, load average %s at start, %s at end; %s\n\n",
		rep.CPUs, rep.LoadStart, rep.LoadEnd, b.daemonVersion)
	fmt.Fprintln(w, "contender\tmode\tp50\tp99\tmax\tmean\tADDs/s\tp50/qn p50\tp99/qn p99\tmean/qn mean\tADDs/s vs qn\t")
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(w, "%s\t%s\tFAILED: %s\t\t\t\t\t\t\t\t\t\n", r.Contender, r.Mode, firstLine(r.Error))
			continue
		}
		qn := get(cQN, r.Mode)
		rs := []string{"-", "-", "-", "-"}
		if qn != nil && r.Contender != cQN {
			rt := ratio{Contender: r.Contender, Mode: r.Mode, P50: r.P50ms / qn.P50ms, P99: r.P99ms / qn.P99ms,
				Mean: r.MeanMs / qn.MeanMs, Rate: r.AddsPerSec / qn.AddsPerSec}
			rep.Ratios = append(rep.Ratios, rt)
			rs = []string{fmt.Sprintf("%.2fx", rt.P50), fmt.Sprintf("%.2fx", rt.P99), fmt.Sprintf("%.2fx", rt.Mean), fmt.Sprintf("%.2fx", rt.Rate)}
		}
		fmt.Fprintf(w, "%s\t%s\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f\t%s\t%s\t%s\t%s\t\n", r.Contender, r.Mode,
			r.P50ms, r.P99ms, r.MaxMs, r.MeanMs, r.AddsPerSec, rs[0], rs[1], rs[2], rs[3])
	}
	w.Flush()
	fmt.Println("(ratios: contender / quantumnet in the same mode; > 1 means quantumnet is faster, except ADDs/s where > 1 means the contender is faster)")

	fmt.Printf("\nquantumnetd (pid %d) memory after the runs: VmRSS %s, VmHWM %s (VmRSS %s when ready, before the first ADD)\n",
		rep.Daemon.PID, kb(b.rssEnd), kb(b.hwmEnd), kb(b.rssStart))

	rep.Phases = b.phaseLines(get)
	b.targets(rep, get)
	for _, t := range rep.Targets {
		state := "not measured"
		if *flagSmoke {
			state = "n/a (-smoke)"
		}
		if t.Met != nil {
			state = "NOT MET"
			if *t.Met {
				state = "MET"
			}
		}
		fmt.Printf("  %-12s %-46s %-8s %s\n", t.Mode, t.Target, state, t.Detail)
	}
	if len(b.problems) > 0 {
		fmt.Println("\nNotes:")
		for _, p := range b.problems {
			fmt.Println("  - " + p)
		}
	}
	fmt.Println()
	return rep
}

// targets adds the targets to rep: overhead over the floor, against the
// shell and bridge+host-local, parallel against the floor one at a time.
func (b *bench) targets(rep *report, get func(c, mode string) *phaseResult) {
	fmt.Println("\nTargets (overhead = quantumnet p50 - floor p50 in the same mode):")
	par := modeName(*flagParallel)
	rep.Targets = append(rep.Targets,
		mkOverhead(modeName(1), 5, get(cQN, modeName(1)), get(cFloor, modeName(1))),
		mkOverhead(par, 10, get(cQN, par), get(cFloor, par)))
	for _, p := range []int{1, *flagParallel} {
		mode := modeName(p)
		qn, br, sh := get(cQN, mode), get(cBridge, mode), get(cShell, mode)
		rep.Targets = append(rep.Targets, mkTarget(mode, "quantumnet p50 <= shell p50 / 3", qn, sh, 1.0/3))
		rep.Targets = append(rep.Targets, mkTarget(mode, "quantumnet p50 <= bridge+host-local p50", qn, br, 1))
	}
	t := mkTarget(par, "quantumnet p50 <= floor p50 one at a time", get(cQN, par), get(cFloor, modeName(1)), 1)
	if qn, fl := get(cQN, par), get(cFloor, modeName(1)); qn != nil && fl != nil {
		t.Detail += fmt.Sprintf("; ADDs/s %.1f vs %.1f", qn.AddsPerSec, fl.AddsPerSec)
	}
	rep.Targets = append(rep.Targets, t)
}

func mkTarget(mode, name string, qn, other *phaseResult, factor float64) target {
	t := target{Mode: mode, Target: name}
	if qn == nil || other == nil {
		return t
	}
	met := qn.P50ms <= factor*other.P50ms
	if !*flagSmoke { // a smoke run's figures mean nothing
		t.Met = &met
	}
	limit := fmt.Sprintf("%.1f ms", other.P50ms)
	if factor != 1 {
		limit = fmt.Sprintf("%.2f x %.1f ms = %.1f ms", factor, other.P50ms, factor*other.P50ms)
	}
	t.Detail = fmt.Sprintf("(%.1f ms vs %s)", qn.P50ms, limit)
	return t
}

// mkOverhead: quantumnet's p50 over the floor's at most limitMs.
func mkOverhead(mode string, limitMs float64, qn, fl *phaseResult) target {
	t := target{Mode: mode, Target: fmt.Sprintf("overhead over the floor <= %.0f ms at p50", limitMs)}
	if qn == nil || fl == nil {
		return t
	}
	over := qn.P50ms - fl.P50ms
	met := over <= limitMs
	if !*flagSmoke {
		t.Met = &met
	}
	t.Detail = fmt.Sprintf("(%.1f ms = %.1f ms - %.1f ms)", over, qn.P50ms, fl.P50ms)
	return t
}

func kb(v int64) string {
	if v == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
