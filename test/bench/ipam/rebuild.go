package main

// Section 3 of the benchmark: a fresh quantumnetd rebuilding its pools from Northbound, and the rebuild alone in this process.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// nearName is a small network a fresh host serves (its readiness: its
// reservations answered in full), nearN its reservations by the benchmark.
const (
	nearName = "bench-near"
	nearN    = 10
)

// freshMode is a way for a fresh daemon to load Northbound: per network
// (the default), or every reservation at start (the peer).
type freshMode struct {
	name string
	ovn  []string // [ovn] config lines
}

var freshModes = []freshMode{{name: "per network"}, {name: "all at start", ovn: []string{"load_all_reservations = true"}}}

// rebuild: bring the network to exactly -rebuild reservations through the
// daemon, and a small second network to a few; stop the daemon; start a
// fresh one per freshMode and time it until it answers IPAMShow of the
// small network in full (ready), then of the big one; then time the
// monitor load and the pool rebuild alone in this process.
func (e *env) rebuild(ctx context.Context, q *qnRun) error {
	want := *flagRebuild
	if err := e.rebuildFill(ctx, q, want); err != nil {
		return err
	}
	near, err := nearFill(ctx, q)
	if err != nil {
		return err
	}
	// The fresh daemon must find the benchmark's reservations and its own.
	total := want + len(q.h.own)
	r := &rebuildResult{Reservations: total, NearReservations: near}
	e.res.Rebuild = r
	if fi, err := os.Stat(q.nb.db); err == nil {
		r.DBFileBytes = fi.Size()
	}
	// Stop the daemon that wrote them; a fresh one must find them in NB.
	closeAll(q.cs)
	q.c.Close()
	q.d.Stop()
	logf("rebuild: %d reservations in NB (%d of them the daemon's own), %d on %s; starting fresh quantumnetds", total, len(q.h.own), near, nearName)
	for i, m := range freshModes {
		fr, err := e.fresh(ctx, q.nb.remote, fmt.Sprintf("bench-%d", i+2), m, total, near)
		r.Fresh = append(r.Fresh, fr)
		if err != nil {
			return fmt.Errorf("fresh daemon (%s): %w", m.name, err)
		}
	}
	return e.rebuildInProcess(ctx, q.nb, total, r)
}

// nearFill creates the small network with nearN reservations and returns
// how many the daemon shows on it (the resolver's address too).
func nearFill(ctx context.Context, q *qnRun) (int, error) {
	if _, err := q.c.CreateNetwork(ctx, &api.Network{Name: nearName, Subnet4: "10.41.0.0/24"}); err != nil {
		return 0, fmt.Errorf("CreateNetwork %s: %w", nearName, err)
	}
	for i := range nearN {
		if _, err := q.c.IPAMReserve(ctx, &api.IPAMReserveRequest{Network: nearName, Owner: fmt.Sprintf("near-%d", i)}); err != nil {
			return 0, fmt.Errorf("IPAMReserve on %s: %w", nearName, err)
		}
	}
	s, err := showNet(ctx, q.c, nearName)
	if err != nil {
		return 0, err
	}
	if int(s.Used) < nearN || len(s.Reservations) != int(s.Used) {
		return 0, fmt.Errorf("%s: %d used, %d reservations, want at least %d", nearName, s.Used, len(s.Reservations), nearN)
	}
	return int(s.Used), nil
}

// fresh starts a daemon loading Northbound as m says and times it: its
// socket, NB connected, IPAMShow of the small network in full (ready),
// then of the big network in full; memory when ready and after.
func (e *env) fresh(ctx context.Context, remote, name string, m freshMode, total, near int) (freshRun, error) {
	fr := freshRun{Mode: m.name}
	d, err := e.startDaemon(remote, name, "info", m.ovn...)
	if err != nil {
		return fr, err
	}
	defer d.Stop()
	c, err := waitShow(ctx, d, nil, nearName, near, &fr.ToSocket, &fr.ToReady)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	if err != nil {
		return fr, err
	}
	fr.ReadyRSSKiB, _ = procMem(d.Pid())
	var ignore time.Duration
	if _, err := waitShow(ctx, d, c, netName, total, &ignore, &fr.ToShow); err != nil {
		return fr, err
	}
	if t, err := logTime(d.LogPath, "msg=connected", "db=nb"); err == nil {
		fr.ToNBConnected = t.Sub(d.started)
	}
	var warm []time.Duration
	for range 5 {
		t := time.Now()
		if _, err := show(ctx, c); err != nil {
			return fr, err
		}
		warm = append(warm, time.Since(t))
	}
	fr.ShowWarm = median(warm)
	fr.RSSKiB, fr.HWMKiB = procMem(d.Pid())
	logf("rebuild (%s): NB connected %s, ready (%s in full) %s at RSS %d MiB; IPAMShow of all %d %s; RSS %d MiB, peak %d MiB",
		m.name, fr.ToNBConnected.Round(time.Millisecond), nearName, fr.ToReady.Round(time.Millisecond), fr.ReadyRSSKiB>>10,
		total, fr.ToShow.Round(time.Millisecond), fr.RSSKiB>>10, fr.HWMKiB>>10)
	return fr, nil
}

// rebuildFill brings the network to exactly want reservations of the
// benchmark, and checks the daemon agrees.
func (e *env) rebuildFill(ctx context.Context, q *qnRun, want int) error {
	h := q.h
	if want > q.usable {
		return fmt.Errorf("-rebuild %d: the /%d has %d usable addresses", want, *flagPrefix, q.usable)
	}
	if err := q.prefiller(ctx, e)(want); err != nil {
		return fmt.Errorf("pre-fill to %d: %w", want, err)
	}
	if extra := h.len() - want; extra > 0 {
		var addrs []netip.Addr
		h.mu.Lock()
		for a := range h.held {
			if len(addrs) == extra {
				break
			}
			addrs = append(addrs, a)
		}
		h.mu.Unlock()
		if _, err := h.release(ctx, q.cs, addrs); err != nil {
			return err
		}
	}
	s, err := show(ctx, q.c)
	if err != nil {
		return err
	}
	if err := h.check(s); err != nil || h.len() != want {
		return fmt.Errorf("rebuild: before the restart %v (the benchmark holds %d, want %d)", err, h.len(), want)
	}
	return nil
}

// waitShow dials d (unless c is given) until IPAMShow of network answers
// with total reservations, recording when its socket (if dialled here)
// and the answer came, from d's start. The client is returned (to close)
// also with an error.
func waitShow(ctx context.Context, d *qnd, c *rpcclient.Client, network string, total int, socketAt, answeredAt *time.Duration) (*rpcclient.Client, error) {
	deadline := d.started.Add(120 * time.Second)
	var last error
	for {
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		if time.Now().After(deadline) || d.Exited() {
			return c, fmt.Errorf("rebuild: the fresh daemon never answered IPAMShow of %s with %d used: %v\n%s", network, total, last, harness.TailFile(d.LogPath, 20))
		}
		if c == nil {
			if c, last = rpcclient.Dial(ctx, d.ClientSocket, "bench-ipam"); last != nil {
				c = nil
				time.Sleep(time.Millisecond)
				continue
			}
			*socketAt = time.Since(d.started)
		}
		s, err := showNet(ctx, c, network)
		if err == nil && int(s.Used) == total && len(s.Reservations) == total {
			*answeredAt = time.Since(d.started)
			return c, nil
		}
		if err == nil {
			err = fmt.Errorf("used %d, %d reservations", s.Used, len(s.Reservations))
		}
		last = err
		time.Sleep(time.Millisecond)
	}
}

// rebuildInProcess connects the daemon's own NB client (pkg/ovn) to the
// database, per network and loading everything at start, and times
// daemon/alloc on it: a fresh Allocator's first Show rebuilds the pools
// from the cache; a second Show does not; the difference is the rebuild
// alone.
func (e *env) rebuildInProcess(ctx context.Context, nb *nbServer, want int, r *rebuildResult) error {
	// What the server side costs: the same monitor request, raw, its reply
	// only scanned as JSON.
	if fb, d, n, err := rawMonitor(nb.sock); err != nil {
		logf("NOTE: raw monitor request: %v", err)
	} else {
		r.RawMonitorFirstByte, r.RawMonitor, r.RawMonitorBytes = fb, d, n
	}
	if *flagCPUProfile != "" {
		f, err := os.Create(*flagCPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			logf("CPU profile of the in-process rebuild written to %s", *flagCPUProfile)
		}()
	}
	for _, whole := range []bool{false, true} {
		ip, err := inProc(ctx, nb, want, whole)
		r.InProc = append(r.InProc, ip)
		if err != nil {
			return err
		}
		logf("rebuild in-process (%s): monitor load %s, first Show %s, fresh Allocator's Show %s, warm Show %s; live heap %d MiB connected, %d MiB after",
			ip.Mode, ip.MonitorLoad.Round(time.Millisecond), ip.FirstShow.Round(time.Millisecond), ip.RebuildShow.Round(time.Millisecond),
			ip.WarmShow.Round(time.Millisecond), ip.HeapConnected>>20, ip.HeapShown>>20)
	}
	return nil
}

// inProc is one in-process run (whole: every reservation at start).
func inProc(ctx context.Context, nb *nbServer, want int, whole bool) (inProcRun, error) {
	ip := inProcRun{Mode: freshModes[0].name}
	var opts []ovn.NBOption
	if whole {
		ip.Mode, opts = freshModes[1].name, []ovn.NBOption{ovn.WholeMonitor()}
	}
	cctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	heap0 := liveHeap()
	t := time.Now()
	nbc, err := ovn.NewNB(cctx, []string{nb.remote}, nil, log, opts...)
	if err != nil {
		return ip, err
	}
	defer nbc.Close()
	if err := nbc.WaitConnected(cctx); err != nil {
		return ip, err
	}
	ip.MonitorLoad = time.Since(t)
	ip.HeapConnected = int64(liveHeap()) - int64(heap0)
	check := func(us []nbstore.Usage, err error) error {
		if err == nil && (len(us) != 1 || int(us[0].Used) != want) {
			err = fmt.Errorf("in-process rebuild: %+v, want %d used", us, want)
		}
		return err
	}
	// The first Show: per network, it loads the network's reservations.
	t = time.Now()
	if err := check((&nbstore.Store{NB: nbc}).Show(netName)); err != nil {
		return ip, err
	}
	ip.FirstShow = time.Since(t)
	var first, second []time.Duration
	var keep *nbstore.Store
	for range 5 {
		keep = &nbstore.Store{NB: nbc}
		t := time.Now()
		if err := check(keep.Show(netName)); err != nil {
			return ip, err
		}
		first = append(first, time.Since(t))
		t = time.Now()
		if _, err := keep.Show(netName); err != nil {
			return ip, err
		}
		second = append(second, time.Since(t))
	}
	// Live heap of the NB cache plus one allocator's state (kept alive).
	ip.HeapShown = int64(liveHeap()) - int64(heap0)
	runtime.KeepAlive(keep)
	ip.RebuildShow, ip.WarmShow = median(first), median(second)
	return ip, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// logTime returns the time= of the first line of a slog text log holding
// every needle.
func logTime(path string, needles ...string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, n := range needles {
			ok = ok && strings.Contains(line, n)
		}
		if !ok || !strings.HasPrefix(line, "time=") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		return time.Parse(time.RFC3339Nano, ts)
	}
	return time.Time{}, errors.New("not found")
}

// procMem returns VmRSS and VmHWM of pid, in KiB (0 if unreadable).
func procMem(pid int) (rss, hwm int64) {
	m, _ := harness.ProcStatus(pid)
	return m["VmRSS"], m["VmHWM"]
}

// rawMonitor sends a monitor request of every row of three tables
// (DHCP_Options holds the reservations) on a plain JSON-RPC connection and times the
// initial reply, scanned as JSON but not decoded into rows: the server's
// share of a monitor load (serialisation and transfer).
func rawMonitor(sock string) (first, total time.Duration, size int, err error) {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return 0, 0, 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	req := map[string]any{"id": 1, "method": "monitor", "params": []any{"OVN_Northbound", "bench-raw",
		map[string]any{"Logical_Switch": map[string]any{}, "Logical_Switch_Port": map[string]any{}, "DHCP_Options": map[string]any{}}}}
	t := time.Now()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return 0, 0, 0, err
	}
	fb := &firstByte{r: conn, start: t}
	dec := json.NewDecoder(bufio.NewReaderSize(fb, 1<<20))
	for {
		var resp struct {
			ID     any             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  any             `json:"error"`
		}
		if err := dec.Decode(&resp); err != nil {
			return 0, 0, 0, err
		}
		if resp.ID == nil { // a notification
			continue
		}
		if resp.Error != nil {
			return 0, 0, 0, fmt.Errorf("monitor: %v", resp.Error)
		}
		return fb.first, time.Since(t), len(resp.Result), nil
	}
}

// firstByte records when its first read returned data.
type firstByte struct {
	r     io.Reader
	start time.Time
	first time.Duration
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && f.first == 0 {
		f.first = time.Since(f.start)
	}
	return n, err
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
