package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// Results is everything measured (the -json output).
type Results struct {
	Meta      Meta           `json:"meta"`
	Pool      []poolResult   `json:"pool"`
	HostLocal hostLocalRes   `json:"host_local"`
	Daemon    daemonRes      `json:"quantumnetd"`
	Rebuild   *rebuildResult `json:"rebuild,omitempty"`
	Ratios    []ratio        `json:"ratios"`
	Targets   []target       `json:"targets"`
	Failures  []string       `json:"failures,omitempty"`
}

// Meta describes the run.
type Meta struct {
	Date             string `json:"date"`
	Host             string `json:"host"`
	CPUs             int    `json:"cpus"`
	CPU              string `json:"cpu"`
	Kernel           string `json:"kernel"`
	Go               string `json:"go"`
	OVSDBServer      string `json:"ovsdb_server"`
	HostLocalVersion string `json:"host_local_version"`
	Subnet           string `json:"subnet"`
	N                int    `json:"n"`
	Workers          int    `json:"workers"`
	Fills            []int  `json:"fills"`
	Quick            bool   `json:"quick"`
	Smoke            bool   `json:"smoke"`
	MaxPhase         string `json:"max_phase"`
}

type hostLocalRes struct {
	Config string    `json:"config"`
	Usable int       `json:"usable"`
	Levels []hlLevel `json:"levels"`
}

type hlLevel struct {
	FillPct int      `json:"fill_pct"`
	Filled  int      `json:"filled"`
	Capped  bool     `json:"capped"` // stopped by -max-phase before -n ADDs
	Add     durStats `json:"add"`
	Del     durStats `json:"del"`
}

type daemonRes struct {
	Usable      int             `json:"usable"`
	Workers     int             `json:"workers"`
	RSSEmptyKiB int64           `json:"rss_empty_kib"` // the first daemon, network created, nothing allocated
	Exhaust     *exhaustResult  `json:"exhaust,omitempty"`
	Prefill     []prefillResult `json:"prefill"`
	Levels      []qnLevel       `json:"levels"`
}

type prefillResult struct {
	From  int      `json:"from"`
	To    int      `json:"to"`
	Stats durStats `json:"stats"`
}

// exhaustResult: refused reservations on a full network.
type exhaustResult struct {
	Filled             int      `json:"filled"`
	Refused            durStats `json:"refused"`              // back to back
	RefusedAfterCommit durStats `json:"refused_after_commit"` // each right after a release + reserve
}

type qnLevel struct {
	FillPct int      `json:"fill_pct"`
	Filled  int      `json:"filled"`
	SeqAdd  durStats `json:"seq_reserve"`
	SeqDel  durStats `json:"seq_release"`
	ConcAdd durStats `json:"conc_reserve"`
	ConcDel durStats `json:"conc_release"`
}

type rebuildResult struct {
	Reservations        int           `json:"reservations"`
	NearReservations    int           `json:"near_reservations"` // of the small network (nearName)
	DBFileBytes         int64         `json:"db_file_bytes"`
	Fresh               []freshRun    `json:"fresh"` // per freshMode, in its order
	RawMonitorFirstByte time.Duration `json:"raw_monitor_first_byte_ns"`
	RawMonitor          time.Duration `json:"raw_monitor_ns"`
	RawMonitorBytes     int           `json:"raw_monitor_bytes"`
	InProc              []inProcRun   `json:"inproc"` // per freshMode
}

// freshRun is a fresh daemon, times from just before its exec.
type freshRun struct {
	Mode          string        `json:"mode"`
	ToSocket      time.Duration `json:"to_socket_ns"`
	ToNBConnected time.Duration `json:"to_nb_connected_ns"`
	ToReady       time.Duration `json:"to_ready_ns"` // IPAMShow of the small network in full
	ReadyRSSKiB   int64         `json:"ready_rss_kib"`
	ToShow        time.Duration `json:"to_show_ns"` // IPAMShow of the big network in full
	ShowWarm      time.Duration `json:"show_warm_ns"`
	RSSKiB        int64         `json:"rss_kib"`
	HWMKiB        int64         `json:"hwm_kib"`
}

// inProcRun is pkg/ovn + daemon/alloc in this process.
type inProcRun struct {
	Mode          string        `json:"mode"`
	MonitorLoad   time.Duration `json:"monitor_load_ns"`
	FirstShow     time.Duration `json:"first_show_ns"`   // per network: loads its reservations
	RebuildShow   time.Duration `json:"rebuild_show_ns"` // a fresh allocator on the loaded cache
	WarmShow      time.Duration `json:"warm_show_ns"`
	HeapConnected int64         `json:"heap_connected_bytes"` // live heap of the NB cache when connected
	HeapShown     int64         `json:"heap_shown_bytes"`     // NB cache with the network loaded, plus an allocator's state
}

// Rebuild is the pool rebuild alone: a fresh allocator's Show less a warm one.
func (p inProcRun) Rebuild() time.Duration { return max(0, p.RebuildShow-p.WarmShow) }

type ratio struct {
	FillPct      int     `json:"fill_pct"`
	What         string  `json:"what"` // "alloc" or "release"
	Sequential   float64 `json:"sequential"`
	Concurrent   float64 `json:"concurrent"`
	HostLocalOps float64 `json:"host_local_per_sec"`
}

type target struct {
	Name   string `json:"name"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Status string `json:"status"` // MET, NOT MET, n/a
}

func newResults(fills []int) *Results {
	r := &Results{}
	m := &r.Meta
	m.Date = time.Now().Format(time.RFC3339)
	m.Host, _ = os.Hostname()
	m.CPUs = runtime.NumCPU()
	m.Go = runtime.Version()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if p, err := ovsdbtest.LookPath("ovsdb-server"); err == nil {
		if out, err := exec.Command(p, "--version").Output(); err == nil {
			m.OVSDBServer = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
		}
	}
	m.Subnet = fmt.Sprintf("%s/%d", subnetBase, *flagPrefix)
	m.N, m.Workers, m.Fills, m.Quick, m.Smoke, m.MaxPhase = *flagN, *flagWorkers, fills, *flagQuick, *flagSmoke, flagMaxPhase.String()
	return r
}

func (r *Results) hl(fill int) *hlLevel {
	for i := range r.HostLocal.Levels {
		if r.HostLocal.Levels[i].FillPct == fill {
			return &r.HostLocal.Levels[i]
		}
	}
	return nil
}

func (r *Results) qn(fill int) *qnLevel {
	for i := range r.Daemon.Levels {
		if r.Daemon.Levels[i].FillPct == fill {
			return &r.Daemon.Levels[i]
		}
	}
	return nil
}

func div(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// finish computes the ratios and the targets.
func (r *Results) finish() {
	for _, fill := range r.Meta.Fills {
		h, q := r.hl(fill), r.qn(fill)
		if h == nil || q == nil {
			continue
		}
		r.Ratios = append(r.Ratios,
			ratio{FillPct: fill, What: "alloc", HostLocalOps: h.Add.PerSec, Sequential: div(q.SeqAdd.PerSec, h.Add.PerSec), Concurrent: div(q.ConcAdd.PerSec, h.Add.PerSec)},
			ratio{FillPct: fill, What: "release", HostLocalOps: h.Del.PerSec, Sequential: div(q.SeqDel.PerSec, h.Del.PerSec), Concurrent: div(q.ConcDel.PerSec, h.Del.PerSec)})
	}
	// 1. Through the daemon at 50 % full, like for like (one request at a
	// time, as host-local runs), at least -target-ratio x host-local.
	t := target{Name: "1. allocations/s at 50 % full: quantumnetd (1 client) / host-local", Want: fmt.Sprintf(">= %gx", *flagTarget), Status: "n/a"}
	for _, x := range r.Ratios {
		if x.FillPct == 50 && x.What == "alloc" && x.Sequential > 0 {
			t.Got = fmt.Sprintf("%.1fx (%d clients: %.1fx)", x.Sequential, r.Daemon.Workers, x.Concurrent)
			t.Status = metStr(x.Sequential >= *flagTarget)
			if *flagPrefix != 16 {
				t.Status = "n/a (the target is for a /16)"
			}
		}
	}
	r.Targets = append(r.Targets, t)
	// 2. The allocator alone under 1 µs per operation.
	t = target{Name: "2. in-process allocator, slowest benchmark", Want: "< 1 µs/op", Status: "n/a"}
	worst := poolResult{}
	for _, p := range r.Pool {
		if p.NsPerOp > worst.NsPerOp {
			worst = p
		}
	}
	if worst.Name != "" {
		t.Got = fmt.Sprintf("%.0f ns/op (%s)", worst.NsPerOp, worst.Name)
		t.Status = metStr(worst.NsPerOp < 1000)
	}
	r.Targets = append(r.Targets, t)
	r.Targets = append(r.Targets, r.rebuildTargets()...)
}

// rebuildTargets are section 3's: (a) a fresh daemon ready with 65,000
// reservations of a network it does not serve in NB, (b) the pool
// rebuild alone, (c) a fresh daemon's first IPAMShow of that network.
func (r *Results) rebuildTargets() []target {
	ta := target{Name: "3a. fresh daemon ready: start -> IPAMShow of its network, 65,000 reservations of another in NB", Want: "<= 1 s", Status: "n/a"}
	tb := target{Name: "3b. pool rebuild alone (daemon/alloc, cache loaded)", Want: "< 1 s", Status: "n/a"}
	tc := target{Name: "3c. fresh daemon: start -> IPAMShow with all 65,000 (the network holding them)", Want: "< 1 s", Status: "n/a"}
	b := r.Rebuild
	if b == nil {
		return []target{ta, tb, tc}
	}
	n := thousands(b.Reservations)
	ta.Name = fmt.Sprintf("3a. fresh daemon ready: start -> IPAMShow of its network, %s reservations of another in NB", n)
	tb.Name = fmt.Sprintf("3b. pool rebuild alone of %s reservations (daemon/alloc, cache loaded)", n)
	tc.Name = fmt.Sprintf("3c. fresh daemon: start -> IPAMShow with all %s (the network holding them)", n)
	if len(b.Fresh) > 0 && b.Fresh[0].ToShow > 0 {
		f := b.Fresh[0]
		ta.Got, ta.Status = fmtDur(f.ToReady), metStr(f.ToReady <= time.Second)
		tc.Got, tc.Status = fmtDur(f.ToShow), metStr(f.ToShow < time.Second)
		if len(b.Fresh) > 1 && b.Fresh[1].ToShow > 0 {
			ta.Got += fmt.Sprintf(" (%s: %s)", b.Fresh[1].Mode, fmtDur(b.Fresh[1].ToReady))
			tc.Got += fmt.Sprintf(" (%s: %s)", b.Fresh[1].Mode, fmtDur(b.Fresh[1].ToShow))
		}
	}
	var worst time.Duration
	for _, p := range b.InProc {
		worst = max(worst, p.Rebuild())
	}
	if len(b.InProc) > 0 && b.InProc[0].WarmShow > 0 {
		tb.Got, tb.Status = fmtDur(worst), metStr(worst < time.Second)
	}
	if b.Reservations < 65000 {
		for _, t := range []*target{&ta, &tb, &tc} {
			t.Status = "n/a (the target is for 65,000)"
		}
	}
	return []target{ta, tb, tc}
}

func metStr(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtRate(f float64) string {
	switch {
	case f == 0:
		return "-"
	case f >= 100:
		return thousands(int(f+0.5)) + "/s"
	case f >= 10:
		return fmt.Sprintf("%.1f/s", f)
	}
	return fmt.Sprintf("%.2f/s", f)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// cell renders a phase: rate, then p50 / p99 latency, and the number of
// operations when fewer than -n (capped by -max-phase, or what fits).
func cell(s durStats, n int) string {
	if s.N == 0 {
		return "-"
	}
	c := fmt.Sprintf("%s  (%s / %s)", fmtRate(s.PerSec), fmtDur(s.P50), fmtDur(s.P99))
	if s.N < n {
		c += fmt.Sprintf(" [%d ops]", s.N)
	}
	return c
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", x)
}

func (r *Results) print(w io.Writer) {
	m := r.Meta
	fmt.Fprintf(w, "\nIPAM benchmark — %s, %d CPUs (%s), kernel %s, %s\n", m.Date, m.CPUs, m.CPU, m.Kernel, m.Go)
	fmt.Fprintf(w, "host-local %s; %s; subnet %s; -n %d, -workers %d, -max-phase %s%s\n",
		m.HostLocalVersion, m.OVSDBServer, m.Subnet, m.N, m.Workers, m.MaxPhase, map[bool]string{true: ", -quick"}[m.Quick]+map[bool]string{true: ", -smoke: the figures mean nothing"}[m.Smoke])

	r.printRates(w)
	r.printPool(w)
	r.printRebuild(w)
	r.printTargets(w)
}

// printRates is section 1: allocation and release rates, the pre-fill and
// the refusals at 100 %.
func (r *Results) printRates(w io.Writer) {
	m := r.Meta
	fmt.Fprintf(w, "\n== 1. Allocation and release rate, %s (%s usable addresses) ==\n", m.Subnet, thousands(max(r.HostLocal.Usable, r.Daemon.Usable)))
	fmt.Fprintf(w, "host-local: one process per ADD/DEL as a runtime runs it, one after another. quantumnetd: IPAMReserve/IPAMRelease\n")
	fmt.Fprintf(w, "through the daemon (real process, real NB ovsdb-server), 1 client sequentially, then %d clients at once.\n", r.Daemon.Workers)
	fmt.Fprintf(w, "Cells: rate (p50 / p99 latency of one operation). Ratios: quantumnetd / host-local.\n\n")
	for _, what := range []string{"alloc", "release"} {
		r.printRateTable(w, what)
	}
	r.printPrefill(w)
}

// printRateTable is section 1's table of what ("alloc" or "release").
func (r *Results) printRateTable(w io.Writer, what string) {
	m := r.Meta
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if what == "alloc" {
		fmt.Fprintf(tw, "ALLOCATE\tin use\thost-local ADD\tquantumnetd 1 client\tquantumnetd %d clients\tratio 1 client\tratio %d clients\n", r.Daemon.Workers, r.Daemon.Workers)
	} else {
		fmt.Fprintf(tw, "RELEASE\tin use\thost-local DEL\tquantumnetd 1 client\tquantumnetd %d clients\tratio 1 client\tratio %d clients\n", r.Daemon.Workers, r.Daemon.Workers)
	}
	for _, fill := range m.Fills {
		h, q := r.hl(fill), r.qn(fill)
		inUse, hc, q1, qc := "-", "-", "-", "-"
		if h != nil {
			inUse = thousands(h.Filled)
			s := h.Add
			if what == "release" {
				s = h.Del
			}
			hc = cell(s, m.N)
		}
		if q != nil {
			inUse = thousands(q.Filled)
			a, c := q.SeqAdd, q.ConcAdd
			if what == "release" {
				a, c = q.SeqDel, q.ConcDel
			}
			q1, qc = cell(a, m.N), cell(c, m.N)
		}
		r1, rc := "-", "-"
		for _, x := range r.Ratios {
			if x.FillPct == fill && x.What == what {
				r1, rc = fmtRatio(x.Sequential), fmtRatio(x.Concurrent)
			}
		}
		fmt.Fprintf(tw, "%d %% full\t%s\t%s\t%s\t%s\t%s\t%s\n", fill, inUse, hc, q1, qc, r1, rc)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printPrefill is the end of section 1: quantumnetd's pre-fill and its
// refusals on a full network.
func (r *Results) printPrefill(w io.Writer) {
	if len(r.Daemon.Prefill) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "quantumnetd pre-fill (IPAMReserve, %d clients)\treservations\ttime\trate\tp50 / p99\n", r.Daemon.Workers)
		for _, p := range r.Daemon.Prefill {
			fmt.Fprintf(tw, "%s -> %s\t%s\t%s\t%s\t%s / %s\n", thousands(p.From), thousands(p.To), thousands(p.Stats.N), fmtDur(p.Stats.Total), fmtRate(p.Stats.PerSec), fmtDur(p.Stats.P50), fmtDur(p.Stats.P99))
		}
		tw.Flush()
		fmt.Fprintln(w, "host-local pre-fill: its state files written directly (not timed).")
	}
	if x := r.Daemon.Exhaust; x != nil {
		fmt.Fprintf(w, "\nquantumnetd at 100 %% full (%s reservations), IPAMReserve refused (ResourceExhausted), 5 of each:\n", thousands(x.Filled))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  back to back	p50 %s	max %s\n", fmtDur(x.Refused.P50), fmtDur(x.Refused.Max))
		fmt.Fprintf(tw, "  each right after a commit (release + reserve)	p50 %s	max %s\n", fmtDur(x.RefusedAfterCommit.P50), fmtDur(x.RefusedAfterCommit.Max))
		tw.Flush()
	}
}

// printPool is section 2: the in-process allocator.
func (r *Results) printPool(w io.Writer) {
	fmt.Fprintf(w, "\n== 2. In-process allocator (ipam.Pool, go test -bench ./ipam/, /16) ==\n")
	fmt.Fprintf(w, "BenchmarkAllocate: one Allocate plus the Release that keeps the fill level; BenchmarkRelease: Allocate+Release from empty.\n\n")
	if len(r.Pool) == 0 {
		fmt.Fprintln(w, "not run")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "benchmark\tns/op\tB/op\tallocs/op\ttarget\t\n")
		for _, p := range r.Pool {
			fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t< 1000 ns\t%s\n", p.Name, p.NsPerOp, p.BytesPerOp, p.AllocsPerOp, metStr(p.NsPerOp < 1000))
		}
		tw.Flush()
	}
}

// printRebuild is section 3: rebuild from Northbound, side by side per
// way of loading it.
func (r *Results) printRebuild(w io.Writer) {
	fmt.Fprintf(w, "\n== 3. Rebuild from Northbound ==\n")
	b := r.Rebuild
	if b == nil || len(b.Fresh) == 0 {
		fmt.Fprintln(w, "not run")
		return
	}
	fmt.Fprintf(w, "%s reservations on %s (DHCP_Options rows written by the daemon; NB file %.1f MB) and %d on %s; the daemon that\n",
		thousands(b.Reservations), netName, float64(b.DBFileBytes)/1e6, b.NearReservations, nearName)
	fmt.Fprintf(w, "wrote them stopped, then a fresh quantumnetd (no port on either network) per way of loading Northbound, one after the\n")
	fmt.Fprintf(w, "other: per network (the default: reservations load when a network is first used) and all at start\n")
	fmt.Fprintf(w, "([ovn] load_all_reservations). Times from just before its exec.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(freshRun) string) {
		fmt.Fprintf(tw, "%s", name)
		for _, x := range b.Fresh {
			fmt.Fprintf(tw, "\t%s", f(x))
		}
		fmt.Fprintln(tw, "\t")
	}
	row("measurement", func(x freshRun) string { return x.Mode })
	row("socket accepts (gRPC handshake done)", func(x freshRun) string { return fmtDur(x.ToSocket) })
	row("NB connected, monitor loaded (its log)", func(x freshRun) string { return fmtDur(x.ToNBConnected) })
	row(fmt.Sprintf("(a) ready: IPAMShow of %s answers with its %d", nearName, b.NearReservations), func(x freshRun) string { return fmtDur(x.ToReady) })
	row("    RSS when ready", func(x freshRun) string { return fmt.Sprintf("%d MiB", x.ReadyRSSKiB>>10) })
	row(fmt.Sprintf("(c) IPAMShow of %s answers with all %s", netName, thousands(b.Reservations)), func(x freshRun) string { return fmtDur(x.ToShow) })
	row("    IPAMShow again (the reply itself)", func(x freshRun) string { return fmtDur(x.ShowWarm) })
	row("    RSS after, peak", func(x freshRun) string { return fmt.Sprintf("%d MiB, %d MiB", x.RSSKiB>>10, x.HWMKiB>>10) })
	tw.Flush()
	fmt.Fprintf(w, "(a empty daemon: RSS %.0f MiB)\n", float64(r.Daemon.RSSEmptyKiB)/1024)
	if b.RawMonitor > 0 {
		fmt.Fprintf(w, "raw monitor request of every reservation: first byte of the reply (the server building it) %s, whole reply (%.1f MB) received and scanned as JSON %s\n",
			fmtDur(b.RawMonitorFirstByte), float64(b.RawMonitorBytes)/1e6, fmtDur(b.RawMonitor))
	}
	r.printInProc(w)
}

// printInProc is the end of section 3: the same in this process.
func (r *Results) printInProc(w io.Writer) {
	b := r.Rebuild
	if len(b.InProc) == 0 {
		return
	}
	fmt.Fprintf(w, "\nin-process (pkg/ovn + daemon/alloc), one client after the other:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(inProcRun) string) {
		fmt.Fprintf(tw, "%s", name)
		for _, x := range b.InProc {
			fmt.Fprintf(tw, "\t%s", f(x))
		}
		fmt.Fprintln(tw, "\t")
	}
	mib := func(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
	row("measurement", func(x inProcRun) string { return x.Mode })
	row("NB connect + monitor load", func(x inProcRun) string { return fmtDur(x.MonitorLoad) })
	row("live heap of the NB cache, connected", func(x inProcRun) string { return mib(x.HeapConnected) })
	row("first Show (per network: loads its reservations)", func(x inProcRun) string { return fmtDur(x.FirstShow) })
	row("fresh Allocator's Show on the loaded cache (rebuild + listing)", func(x inProcRun) string { return fmtDur(x.RebuildShow) })
	row("second Show (listing only)", func(x inProcRun) string { return fmtDur(x.WarmShow) })
	row("(b) pool rebuild alone", func(x inProcRun) string { return fmtDur(x.Rebuild()) })
	row("live heap, network loaded, plus an allocator", func(x inProcRun) string { return mib(x.HeapShown) })
	tw.Flush()
}

// printTargets is the targets and the failures.
func (r *Results) printTargets(w io.Writer) {
	fmt.Fprintf(w, "\n== Targets ==\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		got := t.Got
		if got == "" {
			got = "not measured"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Want, got, t.Status)
	}
	tw.Flush()
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\nFAILURES (the figures above may be partial):\n")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	}
}
