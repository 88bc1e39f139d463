package bgp_test

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// benchRow is one measurement of BenchmarkBGP: took, and the peer's time
// of the same trials (OVN's own move) when there is one. The target is
// took's median (target) or its lag behind the peer's (lagTarget).
type benchRow struct {
	what, unit, peerName, note string
	took, peer                 []time.Duration
	target, lagTarget          time.Duration
}

// benchReport collects BenchmarkBGP's rows (its last run's: the testing
// package may call a benchmark more than once).
type benchReport struct {
	smoke bool
	rows  []benchRow
}

var bench benchReport

func (r *benchReport) add(row benchRow) { r.rows = append(r.rows, row) }

// printBench prints the table of BenchmarkBGP (nothing if it did not run).
func printBench() {
	if len(bench.rows) == 0 {
		return
	}
	fmt.Println("\nBGP: when the ToR (FRR) learns where a floating IP or gateway lives, polled every 10 ms")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measure\tn\tp50\tmax\tpeer (OVN) p50\tFRR behind OVN p50\ttarget\t\t")
	for _, r := range bench.rows {
		peer, lag, target := "-", "-", ""
		var met bool
		if len(r.peer) > 0 {
			lags := make([]time.Duration, len(r.took))
			for i := range r.took {
				lags[i] = r.took[i] - r.peer[i]
			}
			pm, lm := harness.Median(r.peer), harness.Median(lags)
			peer, lag = harness.Ms(pm)+" ms ("+r.peerName+")", harness.Ms(lm)+" ms"
			target, met = "FRR behind OVN p50 ≤ "+harness.Ms(r.lagTarget)+" ms", lm <= r.lagTarget
		} else {
			target, met = "p50 ≤ "+harness.Ms(r.target)+" ms", harness.Median(r.took) <= r.target
		}
		state := "NOT MET"
		if bench.smoke {
			state = "n/a (smoke)"
		} else if met {
			state = "MET"
		}
		fmt.Fprintf(w, "%s\t%d\t%s ms\t%s ms\t%s\t%s\t%s\t%s\t\n", r.what, len(r.took),
			harness.Ms(harness.Median(r.took)), harness.Ms(harness.MaxDuration(r.took)), peer, lag, target, state)
	}
	w.Flush()
	for _, r := range bench.rows {
		if r.note != "" {
			fmt.Printf("(%s: %s)\n", r.what, r.note)
		}
	}
	fmt.Println()
}
