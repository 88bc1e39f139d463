package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// setting is one health check (seconds, seconds, counts).
type setting struct{ Interval, Timeout, Success, Failure int }

func (s setting) String() string {
	return fmt.Sprintf("interval %ds timeout %ds success %d failure %d", s.Interval, s.Timeout, s.Success, s.Failure)
}

// bound is when the health check takes a dead member out at the latest,
// as OVN 23.03's ovn-controller probes (traced here, see trace.go): a
// healthy member is probed every interval + timeout at most (measured: every
// 3 s at 2 s / 1 s, every 1 s at 1 s / 1 s), so the first probe after the
// death comes up to interval + timeout after it. A refusing member's probe
// fails at once (RST) and the next goes an interval later: failure - 1
// intervals more. A silent member's probe fails when its timeout expires
// and the next goes an interval after that: failure x timeout + (failure -
// 1) x interval more. The status flips to offline in the same pass of
// ovn-controller's monitor loop or the next (milliseconds here), and the
// datapath's groups follow Southbound within ~10 ms.
func (s setting) bound(death string) time.Duration {
	first := s.Interval + s.Timeout
	if death == "silent" {
		return time.Duration(first+s.Failure*s.Timeout+(s.Failure-1)*s.Interval) * time.Second
	}
	return time.Duration(first+(s.Failure-1)*s.Interval) * time.Second
}

func parseDeaths(v string) ([]string, error) {
	var out []string
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "refuse" && d != "silent" {
			return nil, fmt.Errorf("-deaths: %q is not refuse or silent", d)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseSettings(v string) ([]setting, error) {
	var out []setting
	for _, f := range strings.Split(v, ",") {
		var s setting
		if n, err := fmt.Sscanf(strings.TrimSpace(f), "%d/%d/%d/%d", &s.Interval, &s.Timeout, &s.Success, &s.Failure); n != 4 || err != nil ||
			s.Interval < 1 || s.Timeout < 1 || s.Success < 1 || s.Failure < 1 {
			return nil, fmt.Errorf("-settings: %q is not INTERVAL/TIMEOUT/SUCCESS/FAILURE, each at least 1", f)
		}
		out = append(out, s)
	}
	return out, nil
}

// failoverResult is one health-check setting's trials.
type failoverResult struct {
	Setting  setting         `json:"health_check"`
	Death    string          `json:"death"`       // refuse or silent (member.kill)
	BoundNS  time.Duration   `json:"bound_ns"`    // setting.bound
	Failover []time.Duration `json:"failover_ns"` // kill -> start of the last failed or misrouted connection
	Offline  []time.Duration `json:"offline_ns"`  // kill -> lb show says offline
	Bad      []int           `json:"bad"`         // connections failed or reaching the dead member
	Conns    []int           `json:"connections"` // connections from the kill to the end of the trial
	Kinds    map[string]int  `json:"bad_kinds"`   // bad connections by kind (refused, timeout, dead member, other), all trials
	Never    []string        `json:"never"`       // trials where the dead member was still in rotation after bound + slack
	Seen     []string        `json:"health_seen"` // per trial: the dead member's health changes in lb show after the kill
	Flows    []time.Duration `json:"flows_ns"`    // kill -> br-int's groups no longer send to the dead member (0: not seen)
	Probes   []string        `json:"probes"`      // per trial: when health probes reached the dead member, after the kill
	KillLag  []time.Duration `json:"kill_lag_ns"` // kill -> the member is dead (iptables returned, listener closed)
	Late     []string        `json:"late"`        // per trial: the client's new connections that reached the dead member after Flows (their first SYN, after Flows)
}

// errTooLong is a trial whose dead member stayed in rotation past its
// bound plus -slack: recorded, and the run goes on (exit code 1).
var errTooLong = errors.New("still in rotation after bound + slack")

// attempt is one connection of the failover client.
type attempt struct {
	at     time.Time
	answer string
	err    error
}

// failovers sets the health check and runs -trials failovers, a different
// member killed each time, brought back between trials.
func (b *bench) failovers(ctx context.Context, s setting, death string) (*failoverResult, error) {
	r := &failoverResult{Setting: s, Death: death, BoundNS: s.bound(death), Kinds: map[string]int{}}
	if err := b.qn("lb", "health-check", "set", lbName, "--interval", fmt.Sprint(s.Interval), "--timeout", fmt.Sprint(s.Timeout),
		"--success", fmt.Sprint(s.Success), "--failure", fmt.Sprint(s.Failure)); err != nil {
		return r, err
	}
	logf("failover, health check %s, death %s: %d trials", s, death, *flagTrials)
	for i := 0; i < *flagTrials && ctx.Err() == nil; i++ {
		for _, m := range b.members {
			if err := b.waitHealth(ctx, m, "online", 30*time.Second); err != nil {
				return r, err
			}
		}
		if err := b.allServe(ctx, 30*time.Second); err != nil {
			return r, err
		}
		victim := b.members[i%len(b.members)]
		sn, err := sniffProbes(victim.ns, b.clientIP)
		if err != nil {
			return r, err
		}
		// Kill at a random phase of the probes, after a healthy interval
		// (its probes traced too).
		time.Sleep(time.Duration(s.Interval)*time.Second + time.Duration(rand.Int64N(int64(s.Interval)*int64(time.Second))))
		err = b.trial(ctx, victim, sn, r)
		sn.close()
		if errors.Is(err, errTooLong) {
			r.Never = append(r.Never, fmt.Sprintf("trial %d (%s): %v", i+1, victim.word, err))
			logf("trial %d: %s killed: %v", i+1, victim.word, err)
			logf("Southbound Service_Monitor:\n%s", b.serviceMonitors())
			if err := victim.revive(death); err != nil {
				return r, err
			}
			continue
		} else if err != nil {
			return r, fmt.Errorf("trial %d (%s killed): %w", i+1, victim.word, err)
		}
		n := len(r.Failover) - 1
		logf("trial %d: %s killed (in %s): last bad connection %s, offline in lb show %s, groups without it %s, %d of %d connections bad; lb show: %s; probes reaching it: %s; new connections reaching it after the groups: %s",
			i+1, victim.word, r.KillLag[n].Round(time.Millisecond), r.Failover[n].Round(time.Millisecond), r.Offline[n].Round(time.Millisecond), r.Flows[n].Round(time.Millisecond),
			r.Bad[n], r.Conns[n], r.Seen[len(r.Seen)-1], r.Probes[n], r.Late[n])
		if err := victim.revive(death); err != nil {
			return r, err
		}
	}
	return r, ctx.Err()
}

// waitHealth waits until lb show reports the member's health as want.
func (b *bench) waitHealth(ctx context.Context, m *member, want string, limit time.Duration) error {
	var h string
	var err error
	if !ovsdbtest.Until(ctx, limit, func() bool { h, err = b.health(m.port); return err == nil && h == want }) {
		neigh, _ := exec.Command("ip", "-n", m.ns, "neigh").CombinedOutput()
		ipt, _ := exec.Command("ip", "netns", "exec", m.ns, "iptables", "-L", "INPUT", "-v", "-n").CombinedOutput()
		return fmt.Errorf("member %s is %q, not %s, after %s (%v)\nSouthbound Service_Monitor:\n%s\nits neighbours:\n%s\nits iptables INPUT:\n%s",
			m.word, h, want, limit, err, b.serviceMonitors(), neigh, ipt)
	}
	return nil
}

// trial kills the victim's server while the client connects every
// -every, and ends once lb show says offline and no connection went bad
// for a quiet period (2 s + interval: longer than an attempt can take, so
// that every bad one has been seen).
func (b *bench) trial(ctx context.Context, victim *member, sn *probeSniffer, r *failoverResult) error {
	s := r.Setting
	cl := b.startClient()
	defer cl.finish()
	time.Sleep(200 * time.Millisecond)
	kill := time.Now()
	if err := victim.kill(r.Death); err != nil {
		return err
	}
	killLag := time.Since(kill) // until the DROP rule or the close is in place
	quiet := 4*time.Second + time.Duration(s.Interval)*time.Second
	limit := r.BoundNS + *flagSlack
	var offline, lastBad, flows time.Time
	bad, conns := 0, 0
	lastHealth, seen := "online", []string(nil) // the victim's health changes in lb show
	defer func() { r.Seen = append(r.Seen, strings.Join(seen, ", ")) }()
	for {
		h, err := b.health(victim.port)
		if err != nil {
			return err
		}
		if h != lastHealth {
			seen = append(seen, fmt.Sprintf("%s %s", time.Since(kill).Round(time.Millisecond), h))
			lastHealth = h
		}
		if offline.IsZero() && h == "offline" {
			offline = time.Now()
		}
		if flows.IsZero() && b.flowsWithout(victim.ip) {
			flows = time.Now()
		}
		bad, conns, lastBad = badSince(cl.attempts(), kill, victim.word)
		if !offline.IsZero() && time.Since(later(offline, lastBad)) > quiet {
			break
		}
		if time.Since(kill) > limit+quiet {
			return fmt.Errorf("%w: after %s: lb show offline %v, %d connections bad, the last %s after the kill (bound %s + slack %s)",
				errTooLong, time.Since(kill).Round(time.Millisecond), !offline.IsZero(), bad, sinceOrNone(lastBad, kill), r.BoundNS, *flagSlack)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl.finish()
	atts := cl.attempts()
	bad, conns, lastBad = badSince(atts, kill, victim.word)
	for _, a := range atts {
		if !a.at.Before(kill) {
			if k := kind(a, victim.word); k != "" {
				r.Kinds[k]++
			}
		}
	}
	failover := time.Duration(0)
	if !lastBad.IsZero() {
		failover = lastBad.Sub(kill)
	}
	r.Failover, r.Offline = append(r.Failover, failover), append(r.Offline, offline.Sub(kill))
	r.Flows, r.Probes = append(r.Flows, sinceOrZero(flows, kill)), append(r.Probes, durations(sn.probes(kill)))
	late := "groups not seen"
	if !flows.IsZero() {
		var after []time.Duration // bad attempts started after the groups dropped the member
		for _, a := range atts {
			if a.at.After(flows) && kind(a, victim.word) != "" {
				after = append(after, a.at.Sub(kill))
			}
		}
		late = fmt.Sprintf("%d %s; bad connections started after the groups: %d %s", len(sn.newConns(flows)), durations(sn.newConns(flows)), len(after), durations(after))
	}
	r.Late = append(r.Late, late)
	r.KillLag = append(r.KillLag, killLag)
	r.Bad, r.Conns = append(r.Bad, bad), append(r.Conns, conns)
	return nil
}

// client connects to the VIP every -every, a new connection each time,
// each in its own goroutine: one that hangs on a silent member does not
// hold the next ones back.
type client struct {
	mu      sync.Mutex
	atts    []attempt
	pending sync.WaitGroup
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (b *bench) startClient() *client {
	c := &client{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(*flagEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			c.pending.Add(1)
			go func(at time.Time) {
				defer c.pending.Done()
				a, _, err := request(b.client, vip, vipPort)
				c.mu.Lock()
				c.atts = append(c.atts, attempt{at: at, answer: a, err: err})
				c.mu.Unlock()
			}(time.Now())
		}
	}()
	return c
}

// finish stops the client and waits for its connections to end.
func (c *client) finish() { c.once.Do(func() { close(c.stop); <-c.done; c.pending.Wait() }) }

// attempts are the connections done so far.
func (c *client) attempts() []attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]attempt(nil), c.atts...)
}

// badSince counts the attempts started after kill, those that failed or
// reached the dead member, and the start of the last of these.
func badSince(atts []attempt, kill time.Time, dead string) (bad, conns int, last time.Time) {
	for _, a := range atts {
		if a.at.Before(kill) {
			continue
		}
		conns++
		if a.err != nil || a.answer == dead {
			bad++
			last = a.at
		}
	}
	return bad, conns, last
}

// kind is how an attempt went bad ("": it did not).
func kind(a attempt, dead string) string {
	switch {
	case a.err == nil && a.answer == dead:
		return "dead member answered"
	case a.err == nil:
		return ""
	case strings.Contains(a.err.Error(), "refused"):
		return "refused"
	case strings.Contains(a.err.Error(), "timeout"):
		return "timeout"
	}
	return "other: " + a.err.Error()
}

// serviceMonitors is Southbound's Service_Monitor table and the sandbox
// ovs-vswitchd's EMER/ERR log lines, for a trial that went wrong.
func (b *bench) serviceMonitors() string {
	out, err := exec.Command("ovn-sbctl", "--db="+b.Sbx.SB(), "--columns=ip,port,status,options", "list", "Service_Monitor").CombinedOutput()
	if err != nil {
		out = fmt.Appendf(nil, "ovn-sbctl: %v %s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(b.Sbx.Dir, "ovs-vswitchd.log"))
	var errs []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "|EMER|") || strings.Contains(l, "|ERR|") {
			errs = append(errs, l)
		}
	}
	return fmt.Sprintf("%s\novs-vswitchd EMER/ERR log lines:\n%s", out, strings.Join(errs, "\n"))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func sinceOrZero(t, from time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return t.Sub(from)
}

func sinceOrNone(t, from time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Sub(from).Round(time.Millisecond).String()
}
