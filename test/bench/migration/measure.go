package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// ---------------------------------------------------------------- pinger

// pinger pings target every 10 ms from a network namespace, the
// container's or the outside's (ping -D: each reply with its arrival time).
type pinger struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

type lockedWriter struct{ p *pinger }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (b *bench) startPing(ns, target string) (*pinger, error) {
	p := &pinger{}
	p.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-D", "-i", "0.01", "-W", "1", target)
	p.cmd.Stdout = lockedWriter{p}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	b.pingers[p] = true
	return p, nil
}

var replyRE = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)`)

// replies returns the arrival times of the replies so far.
func (p *pinger) replies() []time.Time {
	p.mu.Lock()
	s := p.out.String()
	p.mu.Unlock()
	var out []time.Time
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if m := replyRE.FindStringSubmatch(sc.Text()); m != nil {
			f, _ := strconv.ParseFloat(m[1], 64)
			out = append(out, time.Unix(0, int64(f*1e9)))
		}
	}
	return out
}

// lastReply is the arrival time of the latest reply (zero if none).
func (p *pinger) lastReply() time.Time {
	r := p.replies()
	if len(r) == 0 {
		return time.Time{}
	}
	return r[len(r)-1]
}

type gap struct {
	From time.Time     `json:"from"` // last reply before
	To   time.Time     `json:"to"`   // first reply after
	Len  time.Duration `json:"len_ns"`
}

// stop ends the ping; it returns sent and received counts and the gaps
// between consecutive replies longer than min, longest first.
func (b *bench) stopPing(p *pinger, min time.Duration) (sent, recv int, gaps []gap) {
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	delete(b.pingers, p)
	r := p.replies()
	for i := 1; i < len(r); i++ {
		if d := r[i].Sub(r[i-1]); d > min {
			gaps = append(gaps, gap{From: r[i-1], To: r[i], Len: d})
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].Len > gaps[j].Len })
	p.mu.Lock()
	s := p.out.String()
	p.mu.Unlock()
	for _, l := range strings.Split(s, "\n") {
		var a, c int
		if n, err := fmt.Sscanf(l, "%d packets transmitted, %d received", &a, &c); n == 2 && err == nil {
			sent, recv = a, c
		}
	}
	return sent, recv, gaps
}

func (b *bench) killPingers() {
	for p := range b.pingers {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		delete(b.pingers, p)
	}
}

// ---------------------------------------------------------------- one migration

// result is one migration.
type result struct {
	Mode  string `json:"mode"`
	From  string `json:"from"`
	To    string `json:"to"`
	Index int    `json:"index"` // 1-based, per mode and direction

	Took    time.Duration `json:"virsh_migrate_ns"` // wall time of virsh migrate
	Sent    int           `json:"pings_sent"`
	Recv    int           `json:"pings_received"`
	Lost    int           `json:"pings_lost"`
	Longest time.Duration `json:"longest_gap_ns"` // longest time between two replies
	// Gap: the reply gap across the switchover (the one overlapping the
	// guest's pause, source Suspended -> destination Resumed); normally
	// the longest, unless the host stalled the guest elsewhere.
	Gap       time.Duration `json:"switchover_gap_ns"`
	GapFrom   time.Time     `json:"gap_from"`
	GapTo     time.Time     `json:"gap_to"`
	Gaps      []gap         `json:"other_gaps,omitempty"` // further gaps > 30 ms
	Downtime  time.Duration `json:"qemu_downtime_ns"`     // domjobinfo --completed on the destination: Total downtime
	DownNet   time.Duration `json:"qemu_downtime_wo_network_ns"`
	JobTime   time.Duration `json:"job_elapsed_ns"`
	Share     time.Duration `json:"network_share_ns"` // Gap - Downtime
	JobRaw    string        `json:"domjobinfo,omitempty"`
	SrcJobDT  time.Duration `json:"source_job_completed_event_downtime_ns,omitempty"`
	Suspended time.Time     `json:"source_suspended,omitempty"` // libvirt event on the source
	Resumed   time.Time     `json:"dest_resumed,omitempty"`     // libvirt event on the destination
	// AfterResume: first reply after the gap minus the destination's
	// "Resumed Migrated" event: how long the network lagged behind the
	// guest (the ping interval, 10 ms, bounds its resolution).
	AfterResume time.Duration `json:"after_resume_ns"`
	Activated   time.Time     `json:"sb_activated,omitempty"` // SB additional-chassis-activated=DST
	NBFinal     time.Time     `json:"nb_final,omitempty"`     // NB requested-chassis=DST alone
	SBFinal     time.Time     `json:"sb_final,omitempty"`     // SB chassis=DST, no additional chassis
	Naive       time.Time     `json:"naive_nb_set,omitempty"` // naive: our ovn-nbctl call returned
	Start       time.Time     `json:"start"`                  // virsh migrate started
	// On the destination's VM tap (sniffer): QEMU's first RARP, the first
	// echo request the network handed to the tap, the VM's first reply.
	TapIf      string        `json:"tap,omitempty"` // the destination's VM tap as the sniffer found it
	TapRARP    time.Time     `json:"tap_rarp,omitempty"`
	NRARP      int           `json:"tap_rarps,omitempty"`
	TapReq     time.Time     `json:"tap_first_request,omitempty"` // the first after the RARP
	TapEarly   int           `json:"tap_requests_before_rarp,omitempty"`
	TapEarlyAt time.Time     `json:"tap_first_request_before_rarp,omitempty"`
	SniffDrops int           `json:"sniffer_drops,omitempty"` // packets the sniffer's socket lost (then the tap times may be off)
	TapRep     time.Time     `json:"tap_first_reply,omitempty"`
	NetReady   time.Duration `json:"net_ready_after_resume_ns"` // TapReq - Resumed (< 0: before the guest ran)
	// GuestReply: TapRep - max(TapReq, Resumed): how long the running
	// guest took to answer the first request (a fresh TCG QEMU translates
	// its code anew after a migration).
	GuestReply time.Duration `json:"guest_reply_ns"`
	// The outside pinging the VM's floating IP during the same migration
	// (QuantumNet modes): the address, its pings lost, its longest gap and
	// FipGap - Gap.
	fip      string
	FipLost  int           `json:"fip_pings_lost,omitempty"`
	FipGap   time.Duration `json:"fip_switchover_gap_ns,omitempty"`
	FipDiff  time.Duration `json:"fip_minus_east_west_ns,omitempty"`
	Timeline []traceEvent  `json:"timeline,omitempty"`
	Err      string        `json:"error,omitempty"`
}

// migrate moves v from -> to once while the container pings it, and
// measures. naive: the benchmark moves the port after virsh returned.
func (b *bench) migrate(ctx context.Context, mode string, v *vm, idx int, to string, naive bool) (*result, error) {
	from := v.host
	r := &result{Mode: mode, From: from, To: to, Index: idx}
	dstChassis := b.env["QN_CHASSIS_"+strings.ToUpper(to)]
	p, err := b.startPing(b.ctrNS, v.ip)
	if err != nil {
		return nil, err
	}
	defer func() {
		if _, ok := b.pingers[p]; ok {
			b.stopPing(p, 0)
		}
	}()
	if !ovsdbtest.Until(ctx, 3*time.Second, func() bool { return len(p.replies()) >= 5 }) {
		return nil, fmt.Errorf("%s %s->%s #%d: the VM does not answer pings before the migration", mode, from, to, idx)
	}
	fp, err := b.startFIPPing(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("%s %s->%s #%d: %w", mode, from, to, idx, err)
	}
	time.Sleep(300 * time.Millisecond)
	r.Start = time.Now()
	out, err := b.virsh(ctx, from, 3*time.Minute, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", v.name, b.env["QN_LIBVIRT_MIGRATE_URI_"+strings.ToUpper(to)])
	r.Took = time.Since(r.Start)
	if err != nil {
		return nil, fmt.Errorf("%s: virsh migrate %s %s->%s: %v\n%s", mode, v.name, from, to, err, strings.TrimSpace(out))
	}
	v.host = to
	returned := time.Now()
	if naive {
		// What a naive CMS does: the source has stopped, now the port
		// moves (one NB transaction).
		if out, err := b.nbctl(ctx, "set", "Logical_Switch_Port", v.iface, "options:requested-chassis="+dstChassis); err != nil {
			return nil, fmt.Errorf("naive: ovn-nbctl set requested-chassis: %v %s", err, out)
		}
		r.Naive = time.Now()
		returned = r.Naive
	} else if !ovsdbtest.Until(ctx, 15*time.Second, func() bool { return b.nbGet(ctx, v.iface, "options:requested-chassis") == dstChassis }) {
		r.Err = "after the migration the port is not the destination's alone: requested-chassis=" + b.nbGet(ctx, v.iface, "options:requested-chassis")
	}
	// Until the VM answers again (after virsh returned), then 500 ms more
	// to see any later drop (the handoff's last step).
	if !ovsdbtest.Until(ctx, 30*time.Second, func() bool { return p.lastReply().After(returned) }) {
		r.Err = strings.TrimPrefix(r.Err+"; ", "; ") + "the VM never answered again within 30 s"
	}
	time.Sleep(500 * time.Millisecond)
	end := time.Now()
	var gaps []gap
	r.Sent, r.Recv, gaps = b.stopPing(p, 0)
	r.Lost = r.Sent - r.Recv
	r.Downtime, r.DownNet, r.JobTime, r.JobRaw, err = b.jobInfo(ctx, to, v.name)
	if err != nil {
		return nil, err
	}
	if st, _ := b.virsh(ctx, to, 30*time.Second, "domstate", v.name); !strings.Contains(st, "running") {
		return nil, fmt.Errorf("%s: after migrating to %s the VM is %q", mode, to, strings.TrimSpace(st))
	}
	time.Sleep(50 * time.Millisecond) // let virsh event lines arrive
	r.Timeline = b.trace.window(r.Start.Add(-200*time.Millisecond), end)
	r.markEvents(from, to, v.name, dstChassis)
	r.pickGaps(gaps)
	if r.Gap > 0 {
		r.Share = r.Gap - r.Downtime
	}
	r.fip = v.fip
	b.fipGap(r, fp)
	if !r.Resumed.IsZero() && !r.GapTo.IsZero() {
		r.AfterResume = r.GapTo.Sub(r.Resumed)
	}
	b.tapTimes(ctx, r, to)
	return r, nil
}

// markEvents sets r's event times from its timeline: the source's
// Suspended, the destination's Resumed, the source's job-completed
// downtime, and the first SB / NB changes to the destination (dstChassis)
// of domain dom migrating from host from to host to.
func (r *result) markEvents(from, to, dom, dstChassis string) {
	for _, e := range r.Timeline {
		switch {
		case e.Src == "libvirt-"+from && e.dom == dom && strings.Contains(e.What, "Suspended Migrated") && r.Suspended.IsZero():
			r.Suspended = e.At
		case e.Src == "libvirt-"+to && e.dom == dom && strings.Contains(e.What, "Resumed Migrated") && r.Resumed.IsZero():
			r.Resumed = e.At
		case e.Src == "libvirt-"+from && e.dom == dom && strings.HasPrefix(e.What, "job-completed"):
			r.SrcJobDT = e.downtime
		case e.Src == "sb" && strings.Contains(e.What, "activated="+dstChassis) && r.Activated.IsZero():
			r.Activated = e.At
		case e.Src == "nb" && strings.HasPrefix(e.What, "requested-chassis="+dstChassis) && !strings.Contains(e.What, "activation") && r.NBFinal.IsZero():
			r.NBFinal = e.At
		case e.Src == "sb" && strings.HasPrefix(e.What, "chassis="+dstChassis) && !strings.Contains(e.What, "additional") && r.SBFinal.IsZero():
			r.SBFinal = e.At
		}
	}
}

// tapTimes sets r's times seen by the packet sniffer on host to, the
// destination: QEMU's RARP, the first echo request and reply on the VM's
// tap, and what follows from them.
func (b *bench) tapTimes(ctx context.Context, r *result, to string) {
	if s := b.sniff[to]; s != nil {
		var idx int
		idx, r.TapRARP, r.TapReq, r.TapRep, r.TapEarlyAt, r.NRARP, r.TapEarly = s.tapTimes(r.Start)
		r.SniffDrops = s.drops()
		r.TapIf = b.ifName(ctx, to, idx)
		if !r.TapReq.IsZero() && !r.Resumed.IsZero() {
			r.NetReady = r.TapReq.Sub(r.Resumed)
			if !r.TapRep.IsZero() {
				start := r.TapReq
				if r.Resumed.After(start) {
					start = r.Resumed
				}
				r.GuestReply = r.TapRep.Sub(start)
			}
		}
	}
}

// pause is the reference: the guest paused for about pauseFor and resumed
// on the same host (virsh suspend / resume), the network untouched. Its
// gap - pause (pause = the Suspended -> Resumed events) is what the
// measurement itself costs: the 10 ms ping sampling on both sides of the
// pause and the guest's wake-up; a perfect handoff would show that much.
func (b *bench) pause(ctx context.Context, v *vm, idx int, pauseFor time.Duration) (*result, error) {
	r := &result{Mode: "reference", From: v.host, To: v.host, Index: idx}
	p, err := b.startPing(b.ctrNS, v.ip)
	if err != nil {
		return nil, err
	}
	defer func() {
		if _, ok := b.pingers[p]; ok {
			b.stopPing(p, 0)
		}
	}()
	if !ovsdbtest.Until(ctx, 3*time.Second, func() bool { return len(p.replies()) >= 5 }) {
		return nil, fmt.Errorf("reference: the VM does not answer pings")
	}
	time.Sleep(300 * time.Millisecond)
	r.Start = time.Now()
	if out, err := b.virsh(ctx, v.host, 30*time.Second, "suspend", v.name); err != nil {
		return nil, fmt.Errorf("virsh suspend: %v %s", err, out)
	}
	time.Sleep(pauseFor)
	if out, err := b.virsh(ctx, v.host, 30*time.Second, "resume", v.name); err != nil {
		return nil, fmt.Errorf("virsh resume: %v %s", err, out)
	}
	r.Took = time.Since(r.Start)
	resumed := time.Now()
	ovsdbtest.Until(ctx, 10*time.Second, func() bool { return p.lastReply().After(resumed) })
	time.Sleep(300 * time.Millisecond)
	end := time.Now()
	var gaps []gap
	r.Sent, r.Recv, gaps = b.stopPing(p, 0)
	r.Lost = r.Sent - r.Recv
	time.Sleep(50 * time.Millisecond)
	r.Timeline = b.trace.window(r.Start.Add(-200*time.Millisecond), end)
	for _, e := range r.Timeline {
		if e.Src != "libvirt-"+v.host || e.dom != v.name {
			continue
		}
		if strings.Contains(e.What, "Suspended") && r.Suspended.IsZero() {
			r.Suspended = e.At
		}
		if strings.Contains(e.What, "Resumed") && r.Resumed.IsZero() {
			r.Resumed = e.At
		}
	}
	if r.Suspended.IsZero() || r.Resumed.IsZero() {
		return nil, fmt.Errorf("reference: no Suspended/Resumed events seen for %s", v.name)
	}
	r.Downtime = r.Resumed.Sub(r.Suspended)
	r.pickGaps(gaps)
	if r.Gap > 0 {
		r.Share = r.Gap - r.Downtime
		r.AfterResume = r.GapTo.Sub(r.Resumed)
	}
	return r, nil
}

// ifName names interface idx of host h ("#idx" if it is gone).
func (b *bench) ifName(ctx context.Context, h string, idx int) string {
	if idx < 0 {
		return ""
	}
	out, _ := command(ctx, 10*time.Second, nil, "ip", "-n", map[string]string{"a": b.nsA, "b": b.nsB}[h], "-o", "link", "show")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[0] == strconv.Itoa(idx)+":" {
			return strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
		}
	}
	return "#" + strconv.Itoa(idx)
}

// pickGaps sets Longest, the switchover gap (the longest one overlapping
// Suspended..Resumed; the longest of all when the events are missing) and
// the other gaps over 30 ms. all: every interval between two replies,
// longest first.
func (r *result) pickGaps(all []gap) {
	if len(all) == 0 {
		return
	}
	r.Longest = all[0].Len
	sw := r.switchover(all)
	r.Gap, r.GapFrom, r.GapTo = all[sw].Len, all[sw].From, all[sw].To
	for i, g := range all {
		if i != sw && g.Len > 30*time.Millisecond {
			r.Gaps = append(r.Gaps, g)
		}
	}
}

// switchover is the index of the gap across the switchover in all
// (longest first): the longest overlapping Suspended..Resumed, the
// longest of all when the events are missing.
func (r *result) switchover(all []gap) int {
	if !r.Suspended.IsZero() && !r.Resumed.IsZero() {
		for i, g := range all {
			if g.From.Before(r.Resumed) && g.To.After(r.Suspended) {
				return i
			}
		}
	}
	return 0
}

// rel formats t relative to base in ms ("-" when t is zero).
func rel(t, base time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%+.0f", float64(t.Sub(base))/1e6)
}
