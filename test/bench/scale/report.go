package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

type results struct {
	Time     string     `json:"time"`
	CPUs     int        `json:"cpus"`
	Load     string     `json:"loadavg_start"`
	Levels   []int      `json:"levels"`
	Samples  int        `json:"samples"`
	Smoke    bool       `json:"smoke"`
	ADD      []*level   `json:"add"`
	Memory   []memory   `json:"memory"`
	Restarts []*restart `json:"restarts"`
	RemoteMs float64    `json:"remote_insert_ms"`
	GC       *gcResult  `json:"gc"`
}

// measure runs the phases in order; it stops at the first failure (what
// was measured until then is reported).
func (b *bench) measure(ctx context.Context, rep *results) error {
	rep.Time, rep.CPUs, rep.Load = time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), loadavg()
	rep.Memory = append(rep.Memory, b.memory("ready, no ports", 0))
	if err := b.grow(ctx, rep); err != nil {
		return err
	}
	if err := b.checkScale(); err != nil {
		return err
	}
	rep.Memory = append(rep.Memory, b.memory("after the ADDs", 0))
	r, err := b.restartWithPings(ctx, 0)
	if r != nil {
		rep.Restarts = append(rep.Restarts, r)
	}
	if err != nil {
		return err
	}
	if err := b.checkScale(); err != nil {
		return fmt.Errorf("after the restart: %w", err)
	}
	if *flagRemote > 0 {
		took, err := b.addRemote(ctx, *flagRemote)
		rep.RemoteMs = ms(took)
		if err != nil {
			return err
		}
		time.Sleep(3 * time.Second) // the daemon takes the updates in
		rep.Memory = append(rep.Memory, b.memory("remote ports added, live", *flagRemote))
		r, err := b.restartWithPings(ctx, *flagRemote)
		if r != nil {
			rep.Restarts = append(rep.Restarts, r)
		}
		if err != nil {
			return err
		}
		rep.Memory = append(rep.Memory, b.memory("restarted with the remote ports", *flagRemote))
	}
	rep.GC, err = b.gc(ctx)
	return err
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func mib(kb int64) string {
	if kb == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

func state(met bool) string {
	switch {
	case *smoke:
		return "n/a (-smoke)"
	case met:
		return "MET"
	}
	return "NOT MET"
}

func (b *bench) report(out io.Writer, rep *results) {
	fmt.Fprintf(out, "\nOne chassis, %d container attachments (CNI plugin through libcni, userspace datapath); %d CPUs, load %s at start, %s at end\n",
		b.levels[len(b.levels)-1], rep.CPUs, rep.Load, loadavg())
	fmt.Fprintf(out, "ADD samples per level: %d quantumnet and %d floor, alternating; the floor = pre-made logical port and veth, one OVS insert with iface-id, monitor wait for ovn-installed\n\n", rep.Samples, rep.Samples)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ports on host\tquantumnet p50\tp99\tfloor p50\tp99\tqn - floor (p50)\tqn / floor (p50)\t")
	for _, l := range rep.ADD {
		if l.QN.N == 0 || l.Floor.N == 0 {
			fmt.Fprintf(w, "%d\tnot measured\t\t\t\t\t\t\n", l.Ports)
			continue
		}
		fmt.Fprintf(w, "%d-%d\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%+.1f ms\t%.2fx\t\n", l.Ports, l.PortsEnd,
			l.QN.P50ms, l.QN.P99ms, l.Floor.P50ms, l.Floor.P99ms, l.QN.P50ms-l.Floor.P50ms, l.QN.P50ms/l.Floor.P50ms)
	}
	w.Flush()
	fmt.Fprintln(out, "\nWhere a quantumnet ADD's time goes (medians of the samples' phases, daemon log; the rest is the plugin and the RPC)")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ports on host\tNB transaction\tveth\tOVS transaction\twait for ovn-installed\tdaemon's own (all but the wait)\t")
	for _, l := range rep.ADD {
		if p := l.Phases; p != nil {
			fmt.Fprintf(w, "%d-%d\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t\n", l.Ports, l.PortsEnd, p["nb"], p["veth"], p["ovs"], p["installed"],
				p["total"]-p["installed"])
		}
	}
	w.Flush()
	fmt.Fprintln(out, "\nquantumnetd memory")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "when\tlocal ports\tremote NB ports\tVmRSS\tVmHWM\t")
	for _, m := range rep.Memory {
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t\n", m.What, m.Ports, m.Remote, mib(m.RSSKB), mib(m.HWMKB))
	}
	w.Flush()
	if rep.RemoteMs > 0 {
		fmt.Fprintf(out, "(%d remote ports inserted in %.1f s, 16 transactions in flight)\n", *flagRemote, rep.RemoteMs/1000)
	}
	fmt.Fprintln(out, "\nRestart of quantumnetd (SIGTERM, start, `qnetctl status` ready) with ping streams every 10 ms between existing containers")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "local ports\tremote NB ports\tstop\tstart to ready\tRSS when ready\tstreams\tpings sent\tlost\t")
	for _, r := range rep.Restarts {
		fmt.Fprintf(w, "%d\t%d\t%.0f ms\t%.0f ms\t%s\t%d\t%d\t%d\t\n", r.Ports, r.Remote, r.StopMs, r.ReadyMs, mib(r.RSSKB), r.Streams, r.Sent, r.Lost)
		if r.StreamError != "" {
			fmt.Fprintf(w, "\t(%s)\t\t\t\t\t\t\t\n", r.StreamError)
		}
	}
	w.Flush()
	if g := rep.GC; g != nil {
		fmt.Fprintf(out, "\nCNI GC: %d attachments, %d not in the valid list: %.0f ms; removed %d, valid ones removed %d, invalid ones kept %d\n",
			g.Attachments, g.Invalid, g.Ms, g.Removed, g.WrongGone, g.WrongKept)
	}
	b.targets(out, rep)
}

func (b *bench) targets(out io.Writer, rep *results) {
	fmt.Fprintln(out, "\nTargets:")
	line := func(name string, measured bool, met bool, detail string) {
		s := "not measured"
		if measured {
			s = state(met)
		}
		fmt.Fprintf(out, "  %-58s %-12s %s\n", name, s, detail)
	}
	var rss *memory
	for i := range rep.Memory {
		if rep.Memory[i].What == "after the ADDs" {
			rss = &rep.Memory[i]
		}
	}
	line(fmt.Sprintf("quantumnetd RSS at %d ports <= %d MiB", targetRSSPorts, targetRSSMiB), rss != nil && rss.Ports >= targetRSSPorts || rss != nil && *smoke,
		rss != nil && rss.RSSKB <= targetRSSMiB*1024, func() string {
			if rss == nil {
				return ""
			}
			return fmt.Sprintf("(%s at %d ports)", mib(rss.RSSKB), rss.Ports)
		}())
	for _, r := range rep.Restarts {
		if r.Remote == 0 {
			line(fmt.Sprintf("quantumnetd RSS when ready after a restart at %d ports <= %d MiB", r.Ports, targetRSSMiB),
				r.Ports >= targetRSSPorts || *smoke, r.RSSKB <= targetRSSMiB*1024, fmt.Sprintf("(%s)", mib(r.RSSKB)))
		}
		line(fmt.Sprintf("restart with %d ports (%d remote): start to ready <= %v", r.Ports, r.Remote, targetReady), true,
			r.ReadyMs <= ms(targetReady), fmt.Sprintf("(%.0f ms)", r.ReadyMs))
		line(fmt.Sprintf("restart with %d ports (%d remote): no ping lost", r.Ports, r.Remote), r.StreamError == "",
			r.Lost == 0, fmt.Sprintf("(%d of %d lost)", r.Lost, r.Sent))
	}
	if g := rep.GC; g != nil {
		line("GC removes exactly the invalid attachments", true, g.WrongGone == 0 && g.WrongKept == 0 && g.Removed == g.Invalid,
			fmt.Sprintf("(%d of %d removed)", g.Removed, g.Invalid))
	}
	fmt.Fprintln(out)
}

// absurd names a figure no working run gives (a smoke run fails on it;
// a missed target is not absurd).
func (rep *results) absurd() string {
	for _, l := range rep.ADD {
		if l.QN.N > 0 && (l.QN.P50ms <= 0 || l.QN.P50ms > 60000 || l.Floor.P50ms <= 0) {
			return fmt.Sprintf("ADD p50 %.3f ms (floor %.3f ms) at %d ports", l.QN.P50ms, l.Floor.P50ms, l.Ports)
		}
	}
	for _, m := range rep.Memory {
		if m.RSSKB <= 0 {
			return "quantumnetd RSS unreadable (" + m.What + ")"
		}
	}
	for _, r := range rep.Restarts {
		if r.Sent == 0 {
			return "no ping sent across a restart"
		}
	}
	return ""
}
