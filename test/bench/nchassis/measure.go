package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// Central processes, as the meter names them.
const (
	pNorthd = "ovn-northd"
	pNB     = "NB ovsdb-server"
	pSB     = "SB ovsdb-server"
)

// pids are the processes followed during the ADDs: the central ones and,
// per host, ovn-controller, ovs-vswitchd and quantumnetd.
func (w *world) pids() map[string]int {
	p := map[string]int{pNorthd: w.pidOf("central", "ovn-northd"), pNB: w.pidOf("central", "ovsdb-server-nb"),
		pSB: w.pidOf("central", "ovsdb-server-sb")}
	for _, h := range w.hosts {
		p["ovn-controller "+h] = w.pidOf(h, "ovn-controller")
		p["ovs-vswitchd "+h] = w.pidOf(h, "ovs-vswitchd")
		p["quantumnetd "+h] = w.daemons[h].Pid()
	}
	return p
}

// idleCPU is the CPU the chassis' ovs-vswitchd and ovn-controller use
// together while nothing happens, in cores, over -idle.
func (w *world) idleCPU(ctx context.Context) float64 {
	pids := map[string]int{}
	for _, h := range w.hosts {
		pids["ovn-controller "+h] = w.pidOf(h, "ovn-controller")
		pids["ovs-vswitchd "+h] = w.pidOf(h, "ovs-vswitchd")
	}
	m := startMeter(pids)
	select {
	case <-ctx.Done():
	case <-time.After(*flagIdle):
	}
	var cpu float64
	for _, u := range m.end() {
		cpu += u.CPUSeconds
	}
	return cpu / m.Duration.Seconds()
}

// idPrefix names host h's containers of the round (prefix-i; their
// namespaces qne2e-prefix-i-PID).
func (w *world) idPrefix(kind, h string) string { return fmt.Sprintf("nc%d%s%s", w.n, kind, h) }

// ours is whether netns is a container namespace of this round.
func (w *world) ours(netns string) bool {
	return strings.HasPrefix(netns, fmt.Sprintf("qne2e-nc%d", w.n)) && strings.HasSuffix(netns, fmt.Sprintf("-%d", os.Getpid()%100000))
}

// addPhase adds -per containers on every chassis, all chassis at once, and
// records the latencies and what the processes used meanwhile; the
// containers stay (for the pings) until close.
func (w *world) addPhase(ctx context.Context, r *round) error {
	rec0 := map[string]int{}
	cnis := map[string]*harness.CNI{}
	for _, h := range w.hosts {
		rec0[h] = w.recomputes(ctx, h)
		c, err := w.cni(h, mainNet)
		if err != nil {
			return err
		}
		cnis[h] = c
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	north0 := w.northdRecomputes(ctx)
	m := startMeter(w.pids())
	recs := map[string][]harness.AddRecord{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range w.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := harness.AddStream(actx, cnis[h], w.idPrefix("", h), *flagPer, *flagParallel, nil)
			mu.Lock()
			recs[h] = rs
			mu.Unlock()
		}()
	}
	wg.Wait()
	use := m.end()
	w.push(func() { w.delAll(cnis, recs) })
	r.Busy, r.AddSeconds, r.NorthdRecomputes = m.Busy, m.Duration.Seconds(), -1
	if n := w.northdRecomputes(ctx); n >= 0 && north0 >= 0 {
		r.NorthdRecomputes = n - north0
	}
	for _, u := range use {
		r.OwnCores += u.CPUSeconds / r.AddSeconds
	}
	r.Central = map[string]usage{pNorthd: use[pNorthd], pNB: use[pNB], pSB: use[pSB]}
	w.containers = recs
	return r.addResults(ctx, w, recs, use, rec0)
}

// delAll deletes the containers of every host, the hosts at once.
func (w *world) delAll(cnis map[string]*harness.CNI, recs map[string][]harness.AddRecord) {
	var wg sync.WaitGroup
	for h, rs := range recs {
		wg.Add(1)
		go func() { defer wg.Done(); harness.DelStream(context.Background(), cnis[h], rs) }()
	}
	wg.Wait()
}

// addResults fills the round's ADD figures from the records; an ADD that
// never succeeded is an error.
func (r *round) addResults(ctx context.Context, w *world, recs map[string][]harness.AddRecord, use map[string]usage, rec0 map[string]int) error {
	var all, first, last []time.Duration // first, last: each chassis' first and last fifth
	var problems []error
	for _, h := range w.hosts {
		hr := &hostResult{Host: h, Controller: use["ovn-controller "+h], Vswitchd: use["ovs-vswitchd "+h],
			Daemon: use["quantumnetd "+h], Recomputes: -1, Flows: w.flows(h)}
		if a, b := rec0[h], w.recomputes(ctx, h); a >= 0 && b >= 0 {
			hr.Recomputes = b - a
		}
		var took []time.Duration
		for _, rec := range recs[h] {
			if rec.Err != nil || rec.IP == "" {
				problems = append(problems, fmt.Errorf("host %s: ADD %s failed after %d tries: %v", h, rec.ID, rec.Tries, rec.Err))
				continue
			}
			if rec.Tries > 1 {
				r.Retried++
			}
			took = append(took, rec.Took)
		}
		hr.ADDs, hr.P50, hr.P99, hr.Max = harness.Percentiles(took)
		all = append(all, took...)
		fifth := max(1, len(took)/5)
		if len(took) > 0 {
			first = append(first, took[:fifth]...)
			last = append(last, took[len(took)-fifth:]...)
		}
		r.Hosts = append(r.Hosts, hr)
	}
	r.ADDs, r.P50, r.P99, r.Max = harness.Percentiles(all)
	r.P50First, r.P50Last = ms(harness.Median(first)), ms(harness.Median(last))
	if r.AddSeconds > 0 {
		r.AddsPerSec = float64(r.ADDs) / r.AddSeconds
	}
	r.SBLflows, r.SBPortBindings = w.sbCount("Logical_Flow"), w.sbCount("Port_Binding")
	return errors.Join(problems...)
}

// pair is a ping from a container on one chassis to one on another.
type pair struct{ from, to harness.AddRecord }

// samplePairs is n container pairs on different chassis: every ordered
// chassis pair once (in random order, as many as n allows), then random
// ones.
func (w *world) samplePairs(n int, rnd *rand.Rand) []pair {
	var hp [][2]string
	for _, a := range w.hosts {
		for _, b := range w.hosts {
			if a != b {
				hp = append(hp, [2]string{a, b})
			}
		}
	}
	rnd.Shuffle(len(hp), func(i, j int) { hp[i], hp[j] = hp[j], hp[i] })
	pick := func(h string) harness.AddRecord { c := w.containers[h]; return c[rnd.Intn(len(c))] }
	var out []pair
	for i := 0; i < n; i++ {
		p := hp[i%len(hp)]
		if i >= len(hp) {
			p = hp[rnd.Intn(len(hp))]
		}
		out = append(out, pair{pick(p[0]), pick(p[1])})
	}
	return out
}

// pingMatrix pings -pairs sampled pairs, 8 at a time; a pair without an
// answer (3 echo requests, twice) fails the round.
func (w *world) pingMatrix(ctx context.Context, r *round) error {
	// Every chassis has caught up with NB first (nb_cfg, as ovn-nbctl
	// --wait=hv): a chassis still installing the last ports' flows is not a
	// failed pair. How long that took after the last ADD is reported.
	t0 := time.Now()
	if out, err := exec.CommandContext(ctx, "ovn-nbctl", "--db="+w.nh.Vars["QN_NB_REMOTE"], "--wait=hv", "--timeout=120", "sync").CombinedOutput(); err != nil {
		return fmt.Errorf("ovn-nbctl --wait=hv sync: %v: %s", err, out)
	}
	r.ConvergeMs = ms(time.Since(t0))
	pairs := w.samplePairs(*flagPairs, rand.New(rand.NewSource(time.Now().UnixNano())))
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failures []error
	for _, p := range pairs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ctx.Err() != nil {
				return
			}
			err := harness.Ping(p.from.Netns, p.to.IP)
			if err != nil { // once more: 3 echo requests lost in a row on a loaded machine
				mu.Lock()
				r.PairsRetried++
				mu.Unlock()
				err = harness.Ping(p.from.Netns, p.to.IP)
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Errorf("%s (%s) -> %s (%s): %w", p.from.ID, p.from.IP, p.to.ID, p.to.IP, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.Pairs, r.PairsFailed = len(pairs), len(failures)
	if len(failures) > 0 {
		return fmt.Errorf("ping matrix: %d of %d pairs failed:\n%w", len(failures), len(pairs), errors.Join(failures...))
	}
	return ctx.Err()
}

// newNetwork creates network number i and measures until a container on
// each chassis, added right after, pings one on the next chassis.
func (w *world) newNetwork(ctx context.Context, r *round, i int) error {
	name, subnet := fmt.Sprintf("ncnew%d", i), fmt.Sprintf("10.215.%d.0/24", i)
	nr := &netRun{}
	r.NetRuns = append(r.NetRuns, nr)
	t0 := time.Now()
	if err := w.qn("network", "create", name, "--subnet4", subnet, "--mtu", "1400"); err != nil {
		return err
	}
	defer w.qn("network", "delete", name)
	nr.CreateMs = ms(time.Since(t0))
	recs, cnis := map[string]harness.AddRecord{}, map[string]*harness.CNI{}
	defer func() {
		for h, rec := range recs {
			harness.DelStream(context.Background(), cnis[h], []harness.AddRecord{rec})
		}
	}()
	var mu sync.Mutex
	err := w.eachHost(func(h string) error {
		c, err := w.cni(h, name)
		if err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		rec := harness.AddStream(actx, c, w.idPrefix(fmt.Sprintf("n%d", i), h), 1, 1, nil)[0]
		mu.Lock()
		recs[h], cnis[h] = rec, c
		mu.Unlock()
		if rec.Err != nil {
			return fmt.Errorf("host %s: ADD on the new network: %w", h, rec.Err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	nr.AddMs = ms(time.Since(t0))
	err = w.eachHost(func(h string) error {
		to := recs[w.next(h)]
		return pingUntil(ctx, recs[h].Netns, to.IP, 30*time.Second)
	})
	nr.UsableMs = ms(time.Since(t0))
	if err != nil {
		return fmt.Errorf("new network %s: %w", name, err)
	}
	logf("%d chassis: new network %d usable on all chassis after %.0f ms (created %.0f ms, last ADD done %.0f ms)",
		w.n, i, nr.UsableMs, nr.CreateMs, nr.AddMs)
	return nil
}

// eachHost runs f for every host at once and joins the errors.
func (w *world) eachHost(f func(h string) error) error {
	errs := make([]error, len(w.hosts))
	var wg sync.WaitGroup
	for i, h := range w.hosts {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(h) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// next is the host after h (the last one's is the first).
func (w *world) next(h string) string {
	for i, x := range w.hosts {
		if x == h {
			return w.hosts[(i+1)%len(w.hosts)]
		}
	}
	return ""
}

// pingUntil sends one echo request at a time (300 ms wait each) from the
// namespace at nsPath to addr until one is answered, for up to timeout.
func pingUntil(ctx context.Context, nsPath, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", harness.NsName(nsPath), "ping", "-c", "1", "-W", "0.3", addr).CombinedOutput()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("ping %s from %s: no answer within %v: %v\n%s", addr, harness.NsName(nsPath), timeout, err, out)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
