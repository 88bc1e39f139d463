package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

const (
	targetShare = 20 * time.Millisecond // QuantumNet: gap - downtime under this
	targetRatio = 10.0                  // naive share >= this x QuantumNet's
)

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/1e6) }

// line is one migration's summary for the progress log.
func (r *result) line() string {
	s := fmt.Sprintf("%s %s->%s #%d: migrate %.2f s, pings lost %d, switchover gap %s ms, QEMU downtime %s ms, share %s ms, after resume %s ms",
		r.Mode, strings.ToUpper(r.From), strings.ToUpper(r.To), r.Index, r.Took.Seconds(), r.Lost, ms(r.Gap), ms(r.Downtime), ms(r.Share), ms(r.AfterResume))
	s += fmt.Sprintf(" | gap %s..%s, suspended %s, resumed %s", rel(r.GapFrom, r.Start), rel(r.GapTo, r.Start), rel(r.Suspended, r.Start), rel(r.Resumed, r.Start))
	if !r.Activated.IsZero() {
		s += ", SB activated " + rel(r.Activated, r.Start)
	}
	if !r.Naive.IsZero() {
		s += ", naive NB set " + rel(r.Naive, r.Start)
	}
	if !r.TapRARP.IsZero() {
		s += fmt.Sprintf(", dst tap %s: RARP %s (x%d) 1st request %s 1st reply %s", r.TapIf, rel(r.TapRARP, r.Start), r.NRARP, rel(r.TapReq, r.Start), rel(r.TapRep, r.Start))
		if r.SniffDrops != 0 {
			s += fmt.Sprintf(" [sniffer dropped %d packets]", r.SniffDrops)
		}
		if r.TapEarly > 0 {
			s += fmt.Sprintf(" (%d request(s) before the RARP, 1st at %s)", r.TapEarly, rel(r.TapEarlyAt, r.Start))
		}
	}
	s += ", NB final " + rel(r.NBFinal, r.Start) + ", SB final " + rel(r.SBFinal, r.Start) + ", virsh returned " + fmt.Sprintf("%+.0f", float64(r.Took)/1e6)
	if r.Longest > r.Gap {
		s += fmt.Sprintf("; LONGEST gap %s ms elsewhere", ms(r.Longest))
	}
	if len(r.Gaps) > 0 {
		var o []string
		for _, g := range r.Gaps {
			o = append(o, fmt.Sprintf("%s ms at %s", ms(g.Len), rel(g.From, r.Start)))
		}
		s += "; other gaps: " + strings.Join(o, ", ")
	}
	if r.SrcJobDT > 0 && r.SrcJobDT != r.Downtime {
		s += fmt.Sprintf("; source job-completed downtime %s ms", ms(r.SrcJobDT))
	}
	return s + " (ms after virsh migrate started)"
}

type stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
}

func stats(vals []float64) stat {
	if len(vals) == 0 {
		return stat{}
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	st := stat{N: len(s), Min: s[0], Max: s[len(s)-1]}
	if len(s)%2 == 1 {
		st.Median = s[len(s)/2]
	} else {
		st.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	for _, v := range s {
		st.Mean += v
	}
	st.Mean /= float64(len(s))
	return st
}

func (s stat) cell() string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 || s.Min == s.Max {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f [%.0f-%.0f]", s.Median, s.Min, s.Max)
}

type summary struct {
	Mode        string `json:"mode"`
	Dir         string `json:"direction"`
	Lost        stat   `json:"pings_lost"`
	Longest     stat   `json:"longest_gap"`
	Gap         stat   `json:"switchover_gap"`
	Downtime    stat   `json:"qemu_downtime"`
	Share       stat   `json:"network_share"`
	AfterResume stat   `json:"after_resume"`
	NetReady    stat   `json:"net_ready_after_resume"`
	GuestReply  stat   `json:"guest_reply"`
	Migrate     stat   `json:"virsh_migrate"`
}

type verdict struct {
	Dir    string  `json:"direction"`
	What   string  `json:"target"`
	Value  string  `json:"value"`
	Met    bool    `json:"met"`
	Ratio  float64 `json:"ratio,omitempty"`
	Detail string  `json:"detail,omitempty"`
}

type jsonReport struct {
	When       time.Time     `json:"when"`
	Host       string        `json:"host"`
	N          int           `json:"n_per_direction"`
	Modes      []string      `json:"modes"`
	Pinger     string        `json:"pinger"`
	Summary    []*summary    `json:"summary"`
	FIP        []*fipSummary `json:"floating_ip,omitempty"`
	Targets    []verdict     `json:"targets"`
	Results    []*result     `json:"migrations"`
	Problems   []string      `json:"problems,omitempty"`
	DowntimeAt string        `json:"downtime_source"`
}

func (b *bench) summarize(mode, dir string) *summary {
	s := &summary{Mode: mode, Dir: dir}
	var lost, longest, gap, dt, share, ar, nr, gr, mig []float64
	for _, r := range b.results {
		if r.Mode != mode || r.From+r.To != dir {
			continue
		}
		lost = append(lost, float64(r.Lost))
		longest = append(longest, float64(r.Longest)/1e6)
		gap = append(gap, float64(r.Gap)/1e6)
		dt = append(dt, float64(r.Downtime)/1e6)
		share = append(share, float64(r.Share)/1e6)
		if r.AfterResume != 0 {
			ar = append(ar, float64(r.AfterResume)/1e6)
		}
		if !r.TapReq.IsZero() && !r.Resumed.IsZero() {
			nr = append(nr, float64(r.NetReady)/1e6)
			if !r.TapRep.IsZero() {
				gr = append(gr, float64(r.GuestReply)/1e6)
			}
		}
		mig = append(mig, float64(r.Took)/1e6)
	}
	s.NetReady, s.GuestReply, s.Longest = stats(nr), stats(gr), stats(longest)
	s.Lost, s.Gap, s.Downtime, s.Share, s.AfterResume, s.Migrate = stats(lost), stats(gap), stats(dt), stats(share), stats(ar), stats(mig)
	return s
}

func (b *bench) report(modes []modeSpec) *jsonReport {
	rep := &jsonReport{When: time.Now(), N: *flagN, Pinger: "container on host B (" + b.ctrIP + "), ping -i 0.01",
		DowntimeAt: "virsh domjobinfo --completed --keep-completed on the destination (Total downtime)"}
	rep.Host, _ = os.Hostname()
	for _, m := range modes {
		rep.Modes = append(rep.Modes, m.name)
	}
	w := os.Stdout
	sum := b.reportTable(w, rep, modes)
	reportTargets(w, rep, sum)
	reportNotes(w)
	nMig, nSrc, nEq, maxEvDiff := b.downtimeChecks()
	rep.FIP = b.fipReport(w, modes)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "QEMU downtime cross-checks: the source's job-completed event carried it on %d of %d migrations (equal on %d);\n", nSrc, nMig, nEq)
	fmt.Fprintf(w, "source Suspended -> destination Resumed events differ from it by at most %s ms.\n", ms(maxEvDiff))
	if len(b.problems) > 0 {
		fmt.Fprintf(w, "\nProblems seen:\n")
		for _, p := range b.problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	fmt.Fprintln(w)
	rep.Results = b.results
	rep.Problems = b.problems
	return rep
}

// reportDirs are the migration directions, in the report's order, and
// their names.
var (
	reportDirs    = []string{"ab", "ba"}
	reportDirName = map[string]string{"ab": "A->B", "ba": "B->A"}
)

// reportTable writes the table of outages, the reference first, then per
// direction and mode, and adds its summaries to rep. It returns them by
// mode and direction ("reference" for the reference).
func (b *bench) reportTable(w io.Writer, rep *jsonReport, modes []modeSpec) map[string]*summary {
	dirs, dirName := reportDirs, reportDirName
	sum := map[string]*summary{}
	row := "%-5s %-17s %-13s %-12s %-17s %-17s %-16s %-7s %-14s %-6s\n"
	fmt.Fprintf(w, "\nLive migration: network outage seen by a container on host B pinging the VM every 10 ms\n")
	fmt.Fprintf(w, "(%d migration(s) per direction and mode; 128 MiB guest, QEMU TCG, %d CPUs; values: median [min-max])\n\n", *flagN, runtime.NumCPU())
	fmt.Fprintf(w, row, "dir", "mode", "pings lost", "longest gap", "switchover gap", "QEMU downtime ms", "share ms", "after", "net ready ms", "guest")
	fmt.Fprintf(w, row, "", "", "", "ms [max]", "ms", "(domjobinfo)", "(gap-downtime)", "resume", "(dst tap)", "reply")
	if s := b.summarize("reference", "aa"); s.Gap.N > 0 {
		sum["reference"] = s
		rep.Summary = append(rep.Summary, s)
		fmt.Fprintf(w, row, "A", "reference: pause", s.Lost.cell(), medMax(s.Longest), s.Gap.cell(), s.Downtime.cell()+" *", s.Share.cell(), med(s.AfterResume), "-", "-")
	}
	for _, d := range dirs {
		for _, m := range modes {
			s := b.summarize(m.name, d)
			if s.Gap.N == 0 {
				continue
			}
			sum[m.name+d] = s
			rep.Summary = append(rep.Summary, s)
			fmt.Fprintf(w, row, dirName[d], m.name, s.Lost.cell(), medMax(s.Longest), s.Gap.cell(), s.Downtime.cell(), s.Share.cell(), med(s.AfterResume), s.NetReady.cell(), med(s.GuestReply))
		}
	}
	return sum
}

// reportTargets writes the targets met or not, per direction, and adds
// them to rep.
func reportTargets(w io.Writer, rep *jsonReport, sum map[string]*summary) {
	dirs, dirName := reportDirs, reportDirName
	fmt.Fprintf(w, "\nTargets (per direction, on the median share; max shown too):\n")
	for _, d := range dirs {
		q, n := sum["quantumnet"+d], sum["naive"+d]
		if q != nil {
			v := verdict{Dir: dirName[d], What: "quantumnet share < 20 ms", Value: fmt.Sprintf("%.1f ms (max %.0f)", q.Share.Median, q.Share.Max), Met: q.Share.Median < float64(targetShare)/1e6}
			var det []string
			if ref := sum["reference"]; ref != nil {
				det = append(det, fmt.Sprintf("reference pause %.0f ms", ref.Share.Median))
			}
			if q.NetReady.N > 0 {
				det = append(det, fmt.Sprintf("net ready %+.0f ms, guest reply %.0f ms after resume", q.NetReady.Median, q.GuestReply.Median))
			}
			v.Detail = strings.Join(det, "; ")
			rep.Targets = append(rep.Targets, v)
			fmt.Fprintf(w, "  %-5s %-32s %-24s %-8s %s\n", dirName[d], v.What, v.Value, metStr(v.Met), v.Detail)
		}
		if q != nil && n != nil {
			den := q.Share.Median
			note := ""
			if den < 1 {
				den, note = 1, "(QuantumNet share < 1 ms: ratio against 1 ms)"
			}
			ratio := n.Share.Median / den
			v := verdict{Dir: dirName[d], What: "naive share >= 10x quantumnet", Ratio: ratio,
				Value: fmt.Sprintf("%.0f ms = %.1fx", n.Share.Median, ratio), Met: ratio >= targetRatio, Detail: note}
			rep.Targets = append(rep.Targets, v)
			fmt.Fprintf(w, "  %-5s %-32s %-24s %-8s %s\n", dirName[d], v.What, v.Value, metStr(v.Met), note)
		}
	}
}

// reportNotes writes what the table's columns mean.
func reportNotes(w io.Writer) {
	dirNote := map[string]string{"ab": "pinger on the destination", "ba": "pinger on the source"}
	fmt.Fprintf(w, "\nA->B: %s; B->A: %s. switchover gap = the reply gap across the guest's\n", dirNote["ab"], dirNote["ba"])
	fmt.Fprintf(w, "pause (normally the longest; the longest differs when the host stalled the guest elsewhere).\n")
	fmt.Fprintf(w, "share = switchover gap - QEMU's Total downtime (destination's domjobinfo --completed: source CPU stop\n")
	fmt.Fprintf(w, "-> destination CPU resume); it includes up to one ping interval (10 ms) of sampling.\n")
	fmt.Fprintf(w, "after resume = first reply after that gap - the destination's Resumed event.\n")
	fmt.Fprintf(w, "net ready = first echo request handed to the VM's tap on the destination after QEMU's RARP - the\n")
	fmt.Fprintf(w, "Resumed event (< 0: the network was through before the guest ran; a packet socket in the host);\n")
	fmt.Fprintf(w, "guest reply = the VM's first reply on that tap - max(that request, Resumed). after resume, net ready\n")
	fmt.Fprintf(w, "and guest reply are medians in ms; after resume ~ max(net ready, 0) + guest reply + ping sampling.\n")
	fmt.Fprintf(w, "reference: the guest paused ~200 ms and resumed on host A, no migration, the network untouched\n")
	fmt.Fprintf(w, "(* its downtime is Suspended -> Resumed events): the share a perfect handoff would show here.\n")
}

// downtimeChecks cross-checks QEMU's downtime of each migration: how many
// there were, on how many the source's job-completed event carried it and
// on how many it was equal, and the largest difference from the
// Suspended -> Resumed events.
func (b *bench) downtimeChecks() (nMig, nSrc, nEq int, maxEvDiff time.Duration) {
	for _, r := range b.results {
		if r.Mode == "reference" {
			continue
		}
		nMig++
		if r.SrcJobDT > 0 {
			nSrc++
			if r.SrcJobDT == r.Downtime {
				nEq++
			}
		}
		if !r.Suspended.IsZero() && !r.Resumed.IsZero() {
			d := r.Resumed.Sub(r.Suspended) - r.Downtime
			if d < 0 {
				d = -d
			}
			maxEvDiff = max(maxEvDiff, d)
		}
	}
	return nMig, nSrc, nEq, maxEvDiff
}

func med(s stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", s.Median)
}

func medMax(s stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f [%.0f]", s.Median, s.Max)
}

func metStr(ok bool) string {
	if *flagSmoke { // one migration each way: the figures mean nothing
		return "n/a (-smoke)"
	}
	if ok {
		return "MET"
	}
	return "NOT MET"
}
