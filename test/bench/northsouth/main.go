// Command northsouth benchmarks gateway failover (run by `make bench` as
// `go run ./test/bench/northsouth`, as root): on scripts/nhost.sh with three
// chassis and the outside network, a workload on the lowest-priority
// gateway chassis pings the outside every 10 ms through a router's SNAT;
// the active gateway chassis dies (its ovn-controller and ovs-vswitchd
// killed); the time from the kill to the first reply through the standby is
// the failover time. The dead chassis is brought back (and takes the
// gateway back) between runs, and the next kill waits -settle after that:
// with 2 s the second and later failovers took ~500 ms longer than the
// first, with 10 s they do not.
//
// Contenders, side by side, for each BFD setting (-bfd):
//
//   - ovn: the router, gateway chassis (a=30, b=20, c=10), SNAT and the
//     workload's port made with ovn-nbctl and ovs-vsctl: what OVN itself
//     gives on this machine, the floor;
//   - quantumnet: the same through qnetctl (network create --external,
//     router create/attach/set-gateway) and a container attached by the CNI
//     plugin; n/a while qnetctl has no router commands (except under
//     CI=true, where that is an error).
//
// BFD settings are NB_Global options bfd-min-rx/bfd-min-tx/bfd-mult (OVN
// 23.03 copies them onto the tunnels' BFD sessions). "default" removes them
// before the workload is made, so each contender runs with its own
// default, and the table says whose: for ovn OVN's (1000/1000 ms x3 as
// the tunnels report), for quantumnet what `router set-gateway` adds where
// the operator set none (100/100 ms x3, read back from NB_Global). It prints a table and exits 0
// unless something failed to run. Everything it creates is removed at the
// end, also on failure and on Ctrl-C.
//
// The floating-IP gap during live migration vs the east-west gap is
// test/bench/migration's second table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagRuns   = flag.Int("runs", 3, "failovers per contender and BFD setting")
	flagBFD    = flag.String("bfd", "default,100/100/3", "BFD settings, comma separated: default or MIN_RX/MIN_TX/MULT (ms)")
	flagBin    = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagOnly   = flag.String("only", "", "run one contender: ovn or quantumnet")
	flagSettle = flag.Duration("settle", 10*time.Second, "wait after the gateway is back on the first chassis and BFD is up on every tunnel, before the next kill")
	smoke      = harness.SmokeFlag()
)

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./test/bench/northsouth [flags]\n\nGateway failover time, OVN by hand vs QuantumNet (root, scripts/nhost.sh).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *smoke {
		if err := harness.FlagDefaults(map[string]string{"runs": "1", "bfd": "100/100/3", "settle": "1s"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	settings, err := parseBFD(*flagBFD)
	if err != nil {
		fmt.Fprintln(os.Stderr, "northsouth:", err)
		os.Exit(2)
	}
	b := &bench{pid: os.Getpid()}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	err = b.run(ctx, settings)
	b.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "northsouth:", err)
		os.Exit(1)
	}
}

// bfd is one BFD setting; zero values: OVN's defaults.
type bfd struct{ MinRx, MinTx, Mult int }

func (s bfd) String() string {
	if s == (bfd{}) {
		return "default"
	}
	return fmt.Sprintf("%d/%d ms x%d", s.MinRx, s.MinTx, s.Mult)
}

func parseBFD(s string) ([]bfd, error) {
	var out []bfd
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "default" {
			out = append(out, bfd{})
			continue
		}
		var v bfd
		if n, err := fmt.Sscanf(f, "%d/%d/%d", &v.MinRx, &v.MinTx, &v.Mult); n != 3 || err != nil || v.MinRx <= 0 || v.MinTx <= 0 || v.Mult <= 0 {
			return nil, fmt.Errorf("-bfd: %q is not default or MIN_RX/MIN_TX/MULT", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// run brings the hosts up, measures every contender under every setting
// and prints the table.
func (b *bench) run(ctx context.Context, settings []bfd) error {
	if err := b.up(); err != nil {
		return err
	}
	var results []*result
	for _, c := range []string{cOVN, cQN} {
		if *flagOnly != "" && *flagOnly != c {
			continue
		}
		if c == cQN && b.noRouter != "" {
			if os.Getenv("CI") == "true" {
				return fmt.Errorf("under CI=true: %s", b.noRouter)
			}
			results = append(results, &result{Contender: c, NA: b.noRouter})
			continue
		}
		for _, s := range settings {
			r := &result{Contender: c, BFD: s}
			results = append(results, r)
			if err := b.measure(ctx, r); err != nil {
				return fmt.Errorf("%s, BFD %s: %w", c, s, err)
			}
		}
	}
	report(os.Stdout, results, *smoke)
	return nil
}
