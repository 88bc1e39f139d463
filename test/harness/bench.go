package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SmokeEnv is the environment variable that turns every benchmark's smoke
// mode on (make bench-smoke), as -smoke does.
const SmokeEnv = "QN_BENCH_SMOKE"

// SmokeFlag defines the -smoke flag of a benchmark main: a handful of
// operations through the same code path with the same checks, so that a
// benchmark that breaks fails `make test` (make bench-smoke) instead of
// rotting until the next `make bench`. Its figures mean nothing; targets
// are reported n/a. Call before flag.Parse.
func SmokeFlag() *bool {
	return flag.Bool("smoke", os.Getenv(SmokeEnv) == "1",
		"smoke run: a handful of operations, same code path and checks, targets n/a (also "+SmokeEnv+"=1)")
}

// FlagDefaults sets the flags not given on the command line to values (the
// sizes of -smoke or -quick): explicit flags win. Call after flag.Parse.
func FlagDefaults(values map[string]string) error {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range values {
		if set[name] {
			continue
		}
		if err := flag.Set(name, v); err != nil {
			return fmt.Errorf("-%s %s: %w", name, v, err)
		}
	}
	return nil
}

// Interruptible returns a context that the first SIGINT or SIGTERM
// cancels (a benchmark stops measuring, then cleans up), and a stop to
// defer first so that it runs last, after the cleanup: later signals are
// logged, not obeyed, until then.
func Interruptible(logf func(format string, a ...any)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := true
		for range sigc {
			if first {
				logf("interrupted: stopping, then cleaning up")
				cancel()
				first = false
			} else {
				logf("still cleaning up, please wait")
			}
		}
	}()
	return ctx, func() { signal.Stop(sigc); cancel() }
}

// Finish is a benchmark run's last deferred call, deferred right after t0
// is taken: a panic becomes exit code 1, cleanup runs (its failure is
// exit code 1 too), and the total run time is logged.
//
//	defer harness.Finish(&code, time.Now(), b.cleanup, logf)
func Finish(code *int, t0 time.Time, cleanup func() error, logf func(format string, a ...any)) {
	if r := recover(); r != nil {
		logf("panic: %v", r)
		*code = 1
	}
	if err := cleanup(); err != nil {
		logf("cleanup: %v", err)
		*code = 1
	} else {
		logf("cleanup done; total run time %s", time.Since(t0).Round(100*time.Millisecond))
	}
}

// ParseFlags parses a benchmark main's flags; its usage names the command
// (go run ./test/bench/NAME) and says what it measures.
func ParseFlags(cmd, what string) {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run %s [flags]\n\n%s\n\n", cmd, what)
		flag.PrintDefaults()
	}
	flag.Parse()
}

// WriteJSON writes a benchmark's report v to path, indented.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ProcStatus reads the kB values of /proc/PID/status (VmRSS, VmHWM, ...):
// a daemon's memory as a benchmark reports it.
func ProcStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]int64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				m[k] = n
			}
		}
	}
	return m, s.Err()
}
