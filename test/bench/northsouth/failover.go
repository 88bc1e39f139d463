package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

const outsideIP = "192.0.2.10"

// result is one contender under one BFD setting.
type result struct {
	Contender string
	BFD       bfd             // the setting asked for (zero: none written, the contender's own default)
	Label     string          // the setting as the table names it, whose default it is
	TunnelBFD string          // the tunnels' bfd column, as ovn-controller wrote it
	Failover  []time.Duration // kill -> first reply through the standby
	Named     []time.Duration // kill -> the standby named active (SB binding / router show)
	Lost      []int           // pings lost (10 ms apart)
	NA        string          // why it did not run
}

// workload is a port on the lowest-priority gateway chassis pinging the
// outside through a router with gateway chassis; active reports the chassis
// holding the gateway now.
type workload struct {
	ns, host      string
	first, second string // chassis by priority: the active one, the standby
	active        func() string
	teardown      []func()
}

func (w *workload) close() {
	for i := len(w.teardown) - 1; i >= 0; i-- {
		w.teardown[i]()
	}
}

// measure makes the contender's workload under the BFD setting and fails
// the active gateway chassis -runs times.
func (b *bench) measure(ctx context.Context, r *result) error {
	if err := b.setBFD(r.BFD); err != nil {
		return err
	}
	var w *workload
	var err error
	if r.Contender == cOVN {
		w, err = b.ovnWorkload()
	} else {
		w, err = b.qnWorkload()
	}
	if w != nil {
		defer w.close()
	}
	if err != nil {
		return err
	}
	if !ovsdbtest.Until(ctx, 30*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", w.ns, "ping", "-c", "1", "-W", "1", outsideIP).Run() == nil
	}) {
		return fmt.Errorf("the workload on host %s never reached the outside", w.host)
	}
	r.TunnelBFD = b.tunnelBFD(w.host)
	r.Label = b.label(r)
	for i := 0; i < *flagRuns; i++ {
		if !ovsdbtest.Until(ctx, 60*time.Second, func() bool { return w.active() == w.first }) {
			return fmt.Errorf("run %d: the gateway is on %q, not back on %s", i+1, w.active(), w.first)
		}
		// The restarted chassis' BFD sessions must be up everywhere (a
		// session still coming up doubles the next failover), then settle.
		if !ovsdbtest.Until(ctx, 30*time.Second, b.bfdUp) {
			logf("%s, BFD %s, run %d: warning: BFD not up on every tunnel after 30 s; measuring anyway", r.Contender, r.BFD, i+1)
		}
		time.Sleep(*flagSettle)
		d, named, lost, err := b.failover(ctx, w)
		if rerr := b.restore(); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		logf("%s, BFD %s, run %d: first reply %v after the kill, %s named active after %v, %d pings lost", r.Contender, r.BFD, i+1,
			d.Round(time.Millisecond), w.second, named.Round(time.Millisecond), lost)
		r.Failover, r.Named, r.Lost = append(r.Failover, d), append(r.Named, named), append(r.Lost, lost)
	}
	return nil
}

var replyRE = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from`)

// failover pings the outside every 10 ms, kills the active chassis and
// returns the time to the first reply after it, to the standby being named
// active, and the pings lost.
func (b *bench) failover(ctx context.Context, w *workload) (first, named time.Duration, lost int, err error) {
	cmd := exec.Command("ip", "netns", "exec", w.ns, "ping", "-D", "-i", "0.01", "-W", "1", outsideIP)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	var mu sync.Mutex
	var replies []time.Time
	var summary string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			if m := replyRE.FindStringSubmatch(l); m != nil {
				f, _ := strconv.ParseFloat(m[1], 64)
				replies = append(replies, time.Unix(0, int64(f*1e9)))
			} else if strings.Contains(l, "packets transmitted") {
				summary = l
			}
			mu.Unlock()
		}
	}()
	time.Sleep(time.Second)
	dead := b.hostOf(w.first)
	killed, err := b.kill(dead)
	if err == nil {
		// Until the standby is named and the stream is healthy again.
		ovsdbtest.Until(ctx, 30*time.Second, func() bool {
			if named == 0 && w.active() == w.second {
				named = time.Since(killed)
			}
			mu.Lock()
			defer mu.Unlock()
			return named != 0 && time.Since(killed) > time.Second && len(replies) > 0 && time.Since(replies[len(replies)-1]) < 100*time.Millisecond
		})
		time.Sleep(300 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	<-done
	cmd.Wait()
	if err != nil {
		return 0, 0, 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	// The outage is the longest gap between replies that ends after the
	// kill (replies in flight at the kill do not count).
	var gap time.Duration
	for i := 1; i < len(replies); i++ {
		if replies[i].After(killed) && replies[i].Sub(replies[i-1]) > gap {
			gap, first = replies[i].Sub(replies[i-1]), replies[i].Sub(killed)
		}
	}
	var sent, recv int
	fmt.Sscanf(summary, "%d packets transmitted, %d received", &sent, &recv)
	if first == 0 {
		return 0, named, sent - recv, fmt.Errorf("no reply through the standby %s within 30 s (%d sent, %d received)", w.second, sent, recv)
	}
	if named == 0 {
		return first, 0, sent - recv, fmt.Errorf("%s was never named active", w.second)
	}
	return first, named, sent - recv, nil
}

// label names r's BFD setting. With none written, each contender runs
// with its own default: OVN's (1000/1000 ms x3, nothing in NB_Global) for
// ovn; for quantumnet, what set-gateway wrote into NB_Global where the
// operator had set nothing (100/100 ms x3), read back from NB.
func (b *bench) label(r *result) string {
	if r.BFD != (bfd{}) {
		return r.BFD.String() + " (set)"
	}
	if r.Contender == cOVN {
		return "OVN's default"
	}
	var nb bfd
	for k, v := range map[string]*int{"bfd-min-rx": &nb.MinRx, "bfd-min-tx": &nb.MinTx, "bfd-mult": &nb.Mult} {
		out, _ := b.nbctl("--if-exists", "get", "NB_Global", ".", "options:"+k)
		fmt.Sscan(strings.Trim(out, `"`), v)
	}
	if nb == (bfd{}) {
		return "QuantumNet's: none (OVN's)"
	}
	return "QuantumNet's: " + nb.String()
}

// bfdUp reports whether every Geneve tunnel of every host runs BFD and
// forwards.
func (b *bench) bfdUp() bool {
	for _, h := range b.nh.Names() {
		out, err := exec.Command("ovs-vsctl", "--db="+b.nh.Var("QN_OVS_REMOTE_", h), "--bare", "--columns=bfd_status", "find", "Interface", "type=geneve").Output()
		if err != nil {
			return false
		}
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l == "" {
				continue
			}
			if !strings.Contains(l, "forwarding=true") || !strings.Contains(l, "state=up") {
				return false
			}
			n++
		}
		if n < len(b.nh.Names())-1 {
			return false
		}
	}
	return true
}

// kill kills host h's ovn-controller and ovs-vswitchd (SIGKILL, a crash).
func (b *bench) kill(h string) (time.Time, error) {
	var pids []int
	for _, d := range []string{"ovn-controller", "ovs-vswitchd"} {
		s, err := os.ReadFile(b.nh.Pidfile(h, d))
		if err != nil {
			return time.Time{}, err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(s)))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", b.nh.Pidfile(h, d), err)
		}
		pids = append(pids, pid)
	}
	at := time.Now()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return at, fmt.Errorf("kill %d: %w", pid, err)
		}
	}
	return at, nil
}

// restore starts again what kill stopped (nhost.sh up starts what is not
// running) and waits for the daemons to be ready.
func (b *bench) restore() error {
	if out, err := b.nh.Script("nhost.sh", "up"); err != nil {
		return fmt.Errorf("nhost.sh up: %v\n%s", err, out)
	}
	for h, d := range b.daemons {
		if err := d.WaitReady(30 * time.Second); err != nil {
			return fmt.Errorf("host %s: %w", h, err)
		}
	}
	return nil
}
