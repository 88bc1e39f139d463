package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/quantumnet/quantumnet/test/harness"
)

// results is the run's report (also its JSON).
type results struct {
	Paths    []*path           `json:"connection_setup"`
	Failover []*failoverResult `json:"failover"`
}

// report prints the failover table (one line per health-check setting)
// and the connection setup table (one line per path).
func report(w io.Writer, r *results) {
	fmt.Fprintf(w, "\nLoad balancer failover: a member dies -> start of the last connection that failed or reached it\n")
	fmt.Fprintf(w, "(a client on the network opens a new connection to the VIP every %s; 3 members; one chassis, OVS userspace datapath, %d CPUs)\n\n", *flagEvery, runtime.NumCPU())
	fmt.Fprintf(w, "%-44s %-7s %6s %10s %8s %14s %13s %9s %12s\n", "health check", "death", "trials", "median ms", "max ms", "offline med ms", "groups med ms", "bound ms", "bad conns")
	fmt.Fprintln(w, strings.Repeat("-", 131))
	for _, f := range r.Failover {
		bad := 0
		for _, b := range f.Bad {
			bad += b
		}
		fmt.Fprintf(w, "%-44s %-7s %6s %10s %8s %14s %13s %9s %12s\n", f.Setting, f.Death, fmt.Sprintf("%d/%d", len(f.Failover), len(f.Failover)+len(f.Never)), harness.Ms(harness.Median(f.Failover)), harness.Ms(harness.MaxDuration(f.Failover)),
			harness.Ms(harness.Median(f.Offline)), harness.Ms(harness.Median(f.Flows)), harness.Ms(f.BoundNS), fmt.Sprintf("%.1f/trial", float64(bad)/float64(max(len(f.Bad), 1))))
	}
	fmt.Fprintln(w, "\nbound: the first probe after the death comes up to interval + timeout after it (a healthy member's probe period, traced);")
	fmt.Fprintln(w, "then a refusing member (its server closed: RST) fails each probe at once, the next an interval later: + (failure - 1) x interval;")
	fmt.Fprintln(w, "a silent one (its packets dropped) fails a probe when its timeout expires, the next an interval later: + failure x timeout")
	fmt.Fprintln(w, "+ (failure - 1) x interval.")
	fmt.Fprintln(w, "bad conns: failed (refused, or no answer within 3 s) or answered by the dead member; trials: done/run.")
	fmt.Fprintln(w, "offline: kill -> `qnetctl lb show` reports the member offline (Southbound Service_Monitor); groups: kill -> br-int's")
	fmt.Fprintln(w, "OpenFlow groups no longer send to it. The log has each trial's trace: the probes reaching the dead member, and the new")
	fmt.Fprintln(w, "connections that reached it, or failed, after the groups changed (those that failed went elsewhere: a datapath fault).")
	for _, f := range r.Failover {
		fmt.Fprintf(w, "%s, %s: bad connections by kind %v", f.Setting, f.Death, f.Kinds)
		if len(f.Never) > 0 {
			fmt.Fprintf(w, "; NOT TAKEN OUT within bound + %s: %s", *flagSlack, strings.Join(f.Never, "; "))
		}
		fmt.Fprintln(w)
	}
	if len(r.Paths) > 0 {
		var direct float64
		for _, p := range r.Paths {
			if p.direct {
				direct = p.P50
			}
		}
		fmt.Fprintf(w, "\nLoad balancer connection setup: TCP connect + one request/response, %d connections per path, interleaved, no health check\n\n", r.Paths[0].N)
		fmt.Fprintf(w, "%-50s %8s %8s %8s %12s\n", "path", "p50 ms", "p99 ms", "max ms", "p50 / direct")
		fmt.Fprintln(w, strings.Repeat("-", 90))
		for _, p := range r.Paths {
			ratio := "-"
			if direct > 0 {
				ratio = fmt.Sprintf("%.2fx", p.P50/direct)
			}
			fmt.Fprintf(w, "%-50s %8.3f %8.3f %8.3f %12s\n", p.Name, p.P50, p.P99, p.Max, ratio)
		}
	}
	if *smoke {
		fmt.Fprintln(w, "\n(-smoke: a handful of trials and connections, the figures mean nothing)")
	}
}

// absurd is 1 when a figure cannot be right: a connection setup slower
// than a second at p50, a failover trial with too few connections (the
// client did not run), or a silent death with no bad connection at all
// (killing did nothing). A refusing member may legitimately cost nothing:
// its refusals come back at once and the probe can take it out before the
// client picks it. A failover beyond its bound plus -slack already failed its
// trial.
func (r *results) absurd() int {
	code := 0
	for _, p := range r.Paths {
		if p.P50 > 1000 || p.N == 0 {
			logf("absurd: %s: p50 %.3f ms over %d connections", p.Name, p.P50, p.N)
			code = 1
		}
	}
	for _, f := range r.Failover {
		if len(f.Never) > 0 {
			logf("health check %s, death %s: %d trials where the dead member stayed in rotation past bound + slack", f.Setting, f.Death, len(f.Never))
			code = 1
		}
		for i, b := range f.Bad {
			if (b == 0 && f.Death != "refuse") || f.Conns[i] < 10 {
				logf("absurd: health check %s, death %s, trial %d: %d of %d connections bad", f.Setting, f.Death, i+1, b, f.Conns[i])
				code = 1
			}
		}
	}
	return code
}
