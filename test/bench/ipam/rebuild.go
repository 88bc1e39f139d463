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
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// rebuild: bring the network to exactly -rebuild reservations through the
// daemon, stop it, start a fresh one and time it until IPAMShow answers
// with all of them; then time the pool rebuild alone in this process.
func (e *env) rebuild(ctx context.Context, q *qnRun) error {
	want := *flagRebuild
	if err := e.rebuildFill(ctx, q, want); err != nil {
		return err
	}
	h := q.h
	// The fresh daemon must find the benchmark's reservations and its own.
	total := want + len(h.own)
	r := &rebuildResult{Reservations: total}
	e.res.Rebuild = r
	if fi, err := os.Stat(q.nb.db); err == nil {
		r.DBFileBytes = fi.Size()
	}
	// Stop the daemon that wrote them; a fresh one must find them in NB.
	closeAll(q.cs)
	q.c.Close()
	q.d.Stop()
	logf("rebuild: %d reservations in NB (%d of them the daemon's own); starting a fresh quantumnetd", total, len(h.own))

	d2, err := e.startDaemon(q.nb.remote, "bench-2", "info")
	if err != nil {
		return err
	}
	c2, err := waitFresh(ctx, d2, total, r)
	defer func() {
		if c2 != nil {
			c2.Close()
		}
	}()
	if err != nil {
		return err
	}
	if t, err := logTime(d2.LogPath, "msg=connected", "db=nb"); err == nil {
		r.ToNBConnected = t.Sub(d2.started)
	}
	var warm []time.Duration
	for range 5 {
		t := time.Now()
		if _, err := show(ctx, c2); err != nil {
			return err
		}
		warm = append(warm, time.Since(t))
	}
	r.ShowWarm = median(warm)
	r.RSSKiB, r.HWMKiB = procMem(d2.Pid())
	logf("rebuild: fresh daemon answered after %s (socket %s, NB connected %s); warm IPAMShow %s",
		r.ToShow.Round(time.Millisecond), r.ToSocket.Round(time.Millisecond), r.ToNBConnected.Round(time.Millisecond), r.ShowWarm.Round(time.Millisecond))
	// Free the CPU for the in-process measurement.
	c2.Close()
	c2 = nil
	d2.Stop()
	return e.rebuildInProcess(ctx, q.nb, total, r)
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

// waitFresh dials the fresh daemon d2 until IPAMShow answers with total
// reservations, recording when its socket and the answer came. The client
// is returned (to close) also with an error.
func waitFresh(ctx context.Context, d2 *qnd, total int, r *rebuildResult) (*rpcclient.Client, error) {
	var c2 *rpcclient.Client
	deadline := d2.started.Add(60 * time.Second)
	var last error
	for {
		if ctx.Err() != nil {
			return c2, ctx.Err()
		}
		if time.Now().After(deadline) || d2.Exited() {
			return c2, fmt.Errorf("rebuild: the fresh daemon never answered IPAMShow with %d used: %v\n%s", total, last, harness.TailFile(d2.LogPath, 20))
		}
		if c2 == nil {
			if c2, last = rpcclient.Dial(ctx, d2.ClientSocket, "bench-ipam"); last != nil {
				c2 = nil
				time.Sleep(time.Millisecond)
				continue
			}
			r.ToSocket = time.Since(d2.started)
		}
		s, err := show(ctx, c2)
		if err == nil && int(s.Used) == total && len(s.Reservations) == total {
			r.ToShow = time.Since(d2.started)
			return c2, nil
		}
		if err == nil {
			err = fmt.Errorf("used %d, %d reservations", s.Used, len(s.Reservations))
		}
		last = err
		time.Sleep(time.Millisecond)
	}
}

// rebuildInProcess connects the daemon's own NB client (pkg/ovn) to the
// database and times daemon/alloc on the loaded cache: a fresh Allocator's
// first Show rebuilds the pools from the cache; a second Show does not;
// the difference is the rebuild alone.
func (e *env) rebuildInProcess(ctx context.Context, nb *nbServer, want int, r *rebuildResult) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	heap0 := liveHeap()
	t := time.Now()
	nbc, err := ovn.NewNB(cctx, []string{nb.remote}, nil, log)
	if err != nil {
		return err
	}
	defer nbc.Close()
	wctx, wcancel := context.WithTimeout(cctx, 60*time.Second)
	defer wcancel()
	if err := nbc.WaitConnected(wctx); err != nil {
		return err
	}
	r.InProcMonitorLoad = time.Since(t)
	var first, second []time.Duration
	for range 5 {
		al := &nbstore.Store{NB: nbc}
		t := time.Now()
		us, err := al.Show(netName)
		if err != nil {
			return err
		}
		first = append(first, time.Since(t))
		if len(us) != 1 || int(us[0].Used) != want {
			return fmt.Errorf("in-process rebuild: %+v, want %d used", us, want)
		}
		t = time.Now()
		if _, err := al.Show(netName); err != nil {
			return err
		}
		second = append(second, time.Since(t))
	}
	// Live heap of the NB cache plus one allocator's state (kept alive).
	keep := &nbstore.Store{NB: nbc}
	if _, err := keep.Show(netName); err != nil {
		return err
	}
	r.InProcLiveHeap = int64(liveHeap()) - int64(heap0)
	runtime.KeepAlive(keep)
	r.InProcFirstShow, r.InProcWarmShow = median(first), median(second)
	r.InProcRebuild = max(0, r.InProcFirstShow-r.InProcWarmShow)
	logf("rebuild: in-process monitor load %s, first Show %s, warm Show %s: rebuild alone %s",
		r.InProcMonitorLoad.Round(time.Millisecond), r.InProcFirstShow.Round(time.Millisecond), r.InProcWarmShow.Round(time.Millisecond), r.InProcRebuild.Round(time.Millisecond))
	return nil
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

// rawMonitor sends the monitor request the daemon's NB client makes (every
// column of its three tables) on a plain JSON-RPC connection and times the
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
