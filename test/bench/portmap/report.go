package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// path is one way to the listener and its connection setup times.
type path struct {
	Name   string          `json:"path"`
	ns     string          // where the client runs
	addr   string          // where it connects
	port   int             //
	direct bool            // the baseline the mapping is compared with
	took   []time.Duration // connect() until established
	P50    float64         `json:"p50_ms"`
	P99    float64         `json:"p99_ms"`
	Max    float64         `json:"max_ms"`
	N      int             `json:"connections"`
}

// report prints one line per path: p50, p99, max and the p50 over the
// direct path's; it returns the paths for the JSON.
func report(w io.Writer, paths []*path) []*path {
	var direct float64
	for _, p := range paths {
		p.N, p.P50, p.P99, p.Max = harness.Percentiles(p.took)
		if p.direct {
			direct = p.P50
		}
	}
	fmt.Fprintf(w, "\nPort mapping: TCP connection setup (connect() until established), %d connections per path, interleaved\n", len(paths[0].took))
	fmt.Fprintf(w, "(one chassis, OVS userspace datapath, %d CPUs; the host's rules: QN-HOSTPORTS DNAT, QN-POSTROUTING MASQUERADE)\n\n", runtime.NumCPU())
	fmt.Fprintf(w, "%-56s %8s %8s %8s %12s\n", "path", "p50 ms", "p99 ms", "max ms", "p50 / direct")
	fmt.Fprintln(w, strings.Repeat("-", 96))
	for _, p := range paths {
		ratio := "-"
		if direct > 0 {
			ratio = fmt.Sprintf("%.2fx", p.P50/direct)
		}
		fmt.Fprintf(w, "%-56s %8.3f %8.3f %8.3f %12s\n", p.Name, p.P50, p.P99, p.Max, ratio)
	}
	fmt.Fprintln(w, "\ndirect: a second container on the same network to the mapped container's own address (no host rule).")
	fmt.Fprintln(w, "no mapping, no OVN: a listener in the host itself, over the same veth: the floor of the outside's paths.")
	if *smoke {
		fmt.Fprintln(w, "(-smoke: a handful of connections, the figures mean nothing)")
	}
	return paths
}
