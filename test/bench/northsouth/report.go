package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

const targetFailover = time.Second // issue 14: under 1 s with default-like timers

// report prints one line per contender and BFD setting: failover (kill ->
// first reply through the standby) median/min/max, the standby named
// active, pings lost, and the target.
func report(w io.Writer, results []*result, smoke bool) {
	fmt.Fprintln(w, "\nGateway failover: kill of the active gateway chassis' ovn-controller + ovs-vswitchd -> first reply through the standby")
	fmt.Fprintln(w, "(workload on the lowest-priority chassis pinging the outside every 10 ms through SNAT; 3 chassis, userspace datapath)")
	fmt.Fprintf(w, "\n%-11s %-30s %4s %10s %8s %8s %12s %10s  %s\n", "contender", "BFD (NB_Global)", "runs", "median ms", "min ms", "max ms", "named ms", "lost pings", "target <1 s")
	fmt.Fprintln(w, strings.Repeat("-", 123))
	for _, r := range results {
		if r.NA != "" {
			fmt.Fprintf(w, "%-11s %-30s %4s %10s %8s %8s %12s %10s  n/a: %s\n", r.Contender, "-", "-", "-", "-", "-", "-", "-", r.NA)
			continue
		}
		f := append([]time.Duration(nil), r.Failover...)
		sort.Slice(f, func(i, j int) bool { return f[i] < f[j] })
		lost := make([]time.Duration, len(r.Lost))
		for i, l := range r.Lost {
			lost[i] = time.Duration(l)
		}
		target := "n/a (smoke)"
		if !smoke && len(f) > 0 {
			target = map[bool]string{true: "met", false: "missed"}[harness.Median(f) < targetFailover]
		}
		lo, hi := time.Duration(0), time.Duration(0)
		if len(f) > 0 {
			lo, hi = f[0], f[len(f)-1]
		}
		fmt.Fprintf(w, "%-11s %-30s %4d %10s %8s %8s %12s %10d  %s\n", r.Contender, r.Label, len(f), harness.Ms(harness.Median(f)), harness.Ms(lo), harness.Ms(hi),
			harness.Ms(harness.Median(r.Named)), int64(harness.Median(lost)), target)
	}
	fmt.Fprintln(w, "\nBFD as the tunnels carry it (ovn-controller's bfd column on the workload's chassis):")
	for _, r := range results {
		if r.NA == "" {
			fmt.Fprintf(w, "  %-11s %-30s %s\n", r.Contender, r.Label, r.TunnelBFD)
		}
	}
	fmt.Fprintln(w, "\nOVN's default: no BFD options in NB_Global (OVN 23.03: 1000/1000 ms x3). QuantumNet's: what `router set-gateway`")
	fmt.Fprintln(w, "adds to NB_Global where the operator set none (100/100 ms x3); \"(set)\": written by the benchmark before the workload.")
	fmt.Fprintln(w, "\nnamed ms: kill -> the standby holds the gateway port (SB Port_Binding for ovn, `router show` active_chassis for quantumnet).")
	fmt.Fprintln(w, "Floating-IP gap during live migration vs east-west: go run ./test/bench/migration (its second table).")
}
