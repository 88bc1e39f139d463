package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/test/harness"
)

// poolResult is one line of the allocator's Go benchmark.
type poolResult struct {
	Name        string  `json:"name"`
	Iterations  int     `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  int     `json:"bytes_per_op"`
	AllocsPerOp int     `json:"allocs_per_op"`
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

// poolBench runs the in-process allocator's own benchmark
// (ipam/pool_bench_test.go) on a quiet machine, before anything else runs.
func (e *env) poolBench(ctx context.Context) error {
	logf("in-process allocator: go test -run XXX -bench . -benchmem -benchtime %s ./ipam/", *flagBenchtime)
	cmd := exec.CommandContext(ctx, harness.GoTool(), "test", "-count=1", "-run", "XXX", "-bench", ".", "-benchmem", "-benchtime", *flagBenchtime, "./ipam/")
	cmd.Dir = e.h.Repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v\n%s", err, out.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		r := poolResult{Name: m[1]}
		r.Iterations, _ = strconv.Atoi(m[2])
		r.NsPerOp, _ = strconv.ParseFloat(m[3], 64)
		r.BytesPerOp, _ = strconv.Atoi(m[4])
		r.AllocsPerOp, _ = strconv.Atoi(m[5])
		e.res.Pool = append(e.res.Pool, r)
	}
	if len(e.res.Pool) == 0 {
		return fmt.Errorf("no benchmark results in:\n%s", out.String())
	}
	return nil
}
