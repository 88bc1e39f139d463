package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// phase is the ADDs of one part of the stream.
type phase struct {
	Name          string
	ADDs, Retried int
	P50, P99, Max time.Duration
	took          []time.Duration
}

// report prints the phases and the elections, and fails on a failed ADD
// or an address given twice.
func report(recs []harness.AddRecord, kills []*kill) error {
	phases := []*phase{{Name: "before"}, {Name: "during"}, {Name: "after"}}
	var problems []error
	ips := map[string]string{}
	for _, r := range recs {
		if r.Err != nil {
			problems = append(problems, fmt.Errorf("ADD %s failed after %d tries: %w", r.ID, r.Tries, r.Err))
			continue
		}
		if other, dup := ips[r.IP]; dup {
			problems = append(problems, fmt.Errorf("ADD %s got %s, already given to %s", r.ID, r.IP, other))
		}
		ips[r.IP] = r.ID
		p := phases[phaseOf(r, kills)]
		p.ADDs++
		if r.Tries > 1 {
			p.Retried++
		}
		p.took = append(p.took, r.Took)
	}
	fmt.Printf("CNI ADD latency around Raft leader failovers: %d ADDs, %d at a time (during: in flight within %v after a kill)\n\n", len(recs), *flagParallel, *flagWindow)
	fmt.Printf("%-8s %6s %8s %10s %10s %10s\n", "phase", "ADDs", "retried", "p50", "p99", "max")
	for _, p := range phases {
		p.P50, p.P99, p.Max = harness.Percentile(p.took, 50), harness.Percentile(p.took, 99), harness.Percentile(p.took, 100)
		fmt.Printf("%-8s %6d %8d %10v %10v %10v\n", p.Name, p.ADDs, p.Retried, ms(p.P50), ms(p.P99), ms(p.Max))
	}
	fmt.Println()
	for _, k := range kills {
		fmt.Printf("killed the %s leader (member %d): a new leader after %v\n", k.DB, k.Member, ms(k.Election))
	}
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, map[string]any{"phases": phases, "kills": kills}); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "problems:")
		return errors.Join(problems...)
	}
	return nil
}

// phaseOf is 1 (during) for an ADD in flight at some moment of the window
// after a kill, 0 (before) for one that ended before the first kill, 2
// (after) otherwise.
func phaseOf(r harness.AddRecord, kills []*kill) int {
	end := r.Start.Add(r.Took)
	for _, k := range kills {
		if r.Start.Before(k.At.Add(*flagWindow)) && end.After(k.At) {
			return 1
		}
	}
	if len(kills) == 0 || end.Before(kills[0].At) {
		return 0
	}
	return 2
}

func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
