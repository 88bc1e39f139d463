package main

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
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// ---------------------------------------------------------------- NB

// nbServer is a private Northbound ovsdb-server (as pkg/ovsdbtest starts
// one, without its jsonrpc debug log: it would slow every transaction).
type nbServer struct {
	p                         *proc
	remote, sock, db, logPath string
}

func (e *env) startNB(ctx context.Context) (*nbServer, error) {
	server, err := ovsdbtest.LookPath("ovsdb-server")
	if err != nil {
		return nil, err
	}
	tool, err := ovsdbtest.LookPath("ovsdb-tool")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.h.Tmp, "nb")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &nbServer{sock: filepath.Join(dir, "nb.sock"), db: filepath.Join(dir, "nb.db"), logPath: filepath.Join(dir, "ovsdb-server.log")}
	s.remote = "unix:" + s.sock
	if out, err := exec.CommandContext(ctx, tool, "create", s.db, ovsdbtest.NBSchema).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ovsdb-tool create: %v\n%s", err, out)
	}
	cmd := exec.Command(server, s.db, "--remote=punix:"+s.sock, "--unixctl="+filepath.Join(dir, "nb.ctl"), "--no-chdir",
		"--log-file="+s.logPath, "-vconsole:off", "-vfile:info")
	out, _ := os.Create(filepath.Join(dir, "stderr"))
	cmd.Stdout, cmd.Stderr = out, out
	if s.p, err = startProc("ovsdb-server", cmd); err != nil {
		return nil, err
	}
	e.h.Cleanup(func() { s.p.stop(syscall.SIGTERM, 5*time.Second); out.Close() })
	accepts := func() bool {
		var c net.Conn
		if c, err = net.Dial("unix", s.sock); err == nil {
			c.Close()
		}
		return err == nil || s.p.exited()
	}
	if !ovsdbtest.Until(ctx, 10*time.Second, accepts) || err != nil {
		return nil, fmt.Errorf("ovsdb-server does not accept on %s: %v\n%s", s.sock, err, harness.TailFile(s.logPath, 10))
	}
	return s, nil
}

// ---------------------------------------------------------------- daemon

// qnd is a quantumnetd of the benchmark, started by the harness's launcher.
type qnd struct {
	*harness.Daemon
	started time.Time // just before exec
}

// startDaemon runs quantumnetd against NB only (SB and OVS absent, the
// chassis not managed: IPAM needs neither), as test/ipam does.
func (e *env) startDaemon(nbRemote, name, level string) (*qnd, error) {
	dir, err := os.MkdirTemp(e.h.Tmp, "qnd")
	if err != nil {
		return nil, err
	}
	d := &qnd{started: time.Now()}
	d.Daemon, err = harness.StartDaemon(harness.DaemonConfig{Bin: e.h.Bin, Dir: dir, NB: nbRemote, Chassis: name, LogLevel: level})
	if d.Daemon != nil {
		e.h.Cleanup(d.Stop)
	}
	return d, err
}

// client dials the daemon once it serves with NB connected.
func (d *qnd) client(ctx context.Context, timeout time.Duration) (*rpcclient.Client, error) {
	return d.Client(ctx, timeout, "bench-ipam")
}

func (d *qnd) dialN(ctx context.Context, n int) ([]*rpcclient.Client, error) {
	var out []*rpcclient.Client
	for range n {
		c, err := rpcclient.Dial(ctx, d.ClientSocket, "bench-ipam")
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(cs []*rpcclient.Client) {
	for _, c := range cs {
		c.Close()
	}
}

// ---------------------------------------------------------------- driving

// parallel runs op(c, i) for i in [0, n) on len(cs) workers, one client
// each; it returns every latency, the wall time and the first error (which
// stops the others).
func parallel(ctx context.Context, cs []*rpcclient.Client, n int, op func(c *rpcclient.Client, i int) error) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	var stop atomic.Bool
	var mu sync.Mutex
	var first error
	lat := make([][]time.Duration, len(cs))
	var wg sync.WaitGroup
	start := time.Now()
	for w, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if err := op(c, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return all, wall, first
}

// holder tracks what the daemon handed out, to catch an address handed
// out twice.
type holder struct {
	mu   sync.Mutex
	held map[netip.Addr]string // address -> owner, of the benchmark's reservations
	own  map[netip.Addr]string // address -> owner, of the daemon's own (the resolver's)
}

func (h *holder) add(addr, owner string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("IPAMReserve for %s answered %q: %v", owner, addr, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if own, ok := h.own[a]; ok {
		return fmt.Errorf("IPAMReserve handed out %s to %s, the daemon's own reservation (owner %s)", a, owner, own)
	}
	if prev, dup := h.held[a]; dup {
		return fmt.Errorf("IPAMReserve handed out %s to %s, it is held by %s", a, owner, prev)
	}
	h.held[a] = owner
	return nil
}

func (h *holder) del(a netip.Addr) {
	h.mu.Lock()
	delete(h.held, a)
	h.mu.Unlock()
}

// daemonOwn records the reservations the daemon made itself when it
// created the benchmark's network, as IPAMShow shows them on the empty
// network: exactly one, the resolver's address (owner quantumnet:dns), the
// last free address of the range. IPAMReserve must never hand them out.
func (h *holder) daemonOwn(s *api.IPAMSubnet, subnet netip.Prefix) error {
	h.own = map[netip.Addr]string{}
	for _, r := range s.Reservations {
		a, err := netip.ParseAddr(r.Address)
		if err != nil {
			return fmt.Errorf("IPAMShow on the new network: reservation %q: %v", r.Address, err)
		}
		h.own[a] = r.Owner
	}
	// The range is the whole subnet: its last host address, before the
	// broadcast address.
	b := subnet.Masked().Addr().As4()
	host := ^uint32(0) >> subnet.Bits()
	bcast := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | host
	last := netip.AddrFrom4([4]byte{byte(bcast >> 24), byte(bcast >> 16), byte(bcast >> 8), byte(bcast)}).Prev()
	if len(h.own) != 1 || h.own[last] != keys.OwnerResolver || s.Used != 1 {
		return fmt.Errorf("IPAMShow on the new network: used %d, reservations %v; want only the resolver's %s (owner %s)",
			s.Used, s.Reservations, last, keys.OwnerResolver)
	}
	return nil
}

// check compares what the daemon shows with what the benchmark holds
// plus the daemon's own reservations, which must be unchanged.
func (h *holder) check(s *api.IPAMSubnet) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	want := len(h.held) + len(h.own)
	if int(s.Used) != want || len(s.Reservations) != want {
		return fmt.Errorf("the daemon says used %d, %d reservations; want %d (%d of the benchmark, %d of its own)",
			s.Used, len(s.Reservations), want, len(h.held), len(h.own))
	}
	for _, r := range s.Reservations {
		a, _ := netip.ParseAddr(r.Address)
		if owner, ok := h.own[a]; ok && owner != r.Owner {
			return fmt.Errorf("the daemon's own reservation %s is now held by %q, want %q", a, r.Owner, owner)
		}
	}
	return nil
}

// len is the number of reservations the benchmark holds.
func (h *holder) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held)
}

// reserve makes n reservations with owners tag-0..tag-(n-1) on cs,
// returning their addresses in order.
func (h *holder) reserve(ctx context.Context, cs []*rpcclient.Client, tag string, n int) ([]netip.Addr, durStats, error) {
	addrs := make([]netip.Addr, n)
	lat, wall, err := parallel(ctx, cs, n, func(c *rpcclient.Client, i int) error {
		owner := fmt.Sprintf("%s-%05d", tag, i)
		r, err := c.IPAMReserve(ctx, &api.IPAMReserveRequest{Network: netName, Owner: owner})
		if err != nil {
			return fmt.Errorf("IPAMReserve %s: %w", owner, err)
		}
		if err := h.add(r.Address, owner); err != nil {
			return err
		}
		addrs[i] = netip.MustParseAddr(r.Address)
		return nil
	})
	return addrs, summarize(lat, wall), err
}

// release ends the reservations of addrs (invalid ones skipped) on cs.
func (h *holder) release(ctx context.Context, cs []*rpcclient.Client, addrs []netip.Addr) (durStats, error) {
	var todo []netip.Addr
	for _, a := range addrs {
		if a.IsValid() {
			todo = append(todo, a)
		}
	}
	lat, wall, err := parallel(ctx, cs, len(todo), func(c *rpcclient.Client, i int) error {
		if _, err := c.IPAMRelease(ctx, &api.IPAMReleaseRequest{Network: netName, Address: todo[i].String()}); err != nil {
			return fmt.Errorf("IPAMRelease %s: %w", todo[i], err)
		}
		h.del(todo[i])
		return nil
	})
	return summarize(lat, wall), err
}

func show(ctx context.Context, c *rpcclient.Client) (*api.IPAMSubnet, error) {
	u, err := c.IPAMShow(ctx, &api.NetworkRef{Name: netName})
	if err != nil {
		return nil, err
	}
	if len(u.Subnets) != 1 {
		return nil, fmt.Errorf("IPAMShow: %d subnets, want 1", len(u.Subnets))
	}
	return u.Subnets[0], nil
}

// ---------------------------------------------------------------- section 1 + 3

func (e *env) quantumnetd(ctx context.Context, fills []int) error {
	nb, err := e.startNB(ctx)
	if err != nil {
		return err
	}
	d, err := e.startDaemon(nb.remote, "bench-1", "warn")
	if err != nil {
		return err
	}
	c, err := d.client(ctx, 20*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	subnet := netip.PrefixFrom(netip.MustParseAddr(subnetBase), *flagPrefix)
	if _, err := c.CreateNetwork(ctx, &api.Network{Name: netName, Subnet4: subnet.String()}); err != nil {
		return fmt.Errorf("CreateNetwork: %w", err)
	}
	s, err := show(ctx, c)
	if err != nil {
		return err
	}
	h := &holder{held: map[netip.Addr]string{}}
	if err := h.daemonOwn(s, subnet); err != nil {
		return err
	}
	e.res.Daemon.RSSEmptyKiB, _ = procMem(d.Pid())
	// What the benchmark can reserve: the range less the daemon's own
	// reservations (the resolver's address).
	usable := int(s.Size-s.Reserved) - len(h.own)
	e.res.Daemon.Usable, e.res.Daemon.Workers = usable, *flagWorkers
	cs, err := d.dialN(ctx, *flagWorkers)
	if err != nil {
		return err
	}
	defer func() { closeAll(cs) }()
	// Warm up (not timed): connections, caches, the daemon's first rebuild.
	if addrs, _, err := h.reserve(ctx, cs[:1], "warmup", 20); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	} else if _, err := h.release(ctx, cs[:1], addrs); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fillSeq := 0
	prefill := func(target int) error {
		from := h.len()
		if target <= from {
			return nil
		}
		_, st, err := h.reserve(ctx, cs, "fill"+strconv.Itoa(fillSeq), target-from)
		fillSeq++
		e.res.Daemon.Prefill = append(e.res.Daemon.Prefill, prefillResult{From: from, To: h.len(), Stats: st})
		logf("quantumnetd: pre-filled %d -> %d in %s (%.0f reservations/s, %d clients)", from, h.len(), st.Total.Round(time.Millisecond), st.PerSec, len(cs))
		return err
	}
	for _, fill := range fills {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		target := usable * fill / 100
		n := min(*flagN, usable-target) // what fits
		if n < 1 {
			return fmt.Errorf("fill %d %%: no free address left", fill)
		}
		if err := prefill(target); err != nil {
			return fmt.Errorf("pre-fill to %d %%: %w", fill, err)
		}
		logf("quantumnetd: %d %% full (%d reservations): %d reserves + releases, sequential then %d clients", fill, h.len(), n, len(cs))
		lvl := qnLevel{FillPct: fill, Filled: h.len()}
		var errs []error
		addrs, st, err := h.reserve(ctx, cs[:1], fmt.Sprintf("seq%d", fill), n)
		lvl.SeqAdd = st
		errs = append(errs, err)
		lvl.SeqDel, err = h.release(ctx, cs[:1], addrs)
		errs = append(errs, err)
		if err := errors.Join(errs...); err == nil && ctx.Err() == nil {
			addrs, lvl.ConcAdd, err = h.reserve(ctx, cs, fmt.Sprintf("conc%d", fill), n)
			errs = append(errs, err)
			lvl.ConcDel, err = h.release(ctx, cs, addrs)
			errs = append(errs, err)
		}
		e.res.Daemon.Levels = append(e.res.Daemon.Levels, lvl)
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("fill %d %%: %w", fill, err)
		}
		if s, err := show(ctx, c); err != nil {
			return err
		} else if err := h.check(s); err != nil {
			return fmt.Errorf("fill %d %%: after the phase %w", fill, err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := e.exhaust(ctx, cs, h, prefill, usable); err != nil {
		return fmt.Errorf("at 100 %% full: %w", err)
	}
	if *flagRebuild == 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	return e.rebuild(ctx, nb, d, c, cs, h, prefill, usable)
}

// exhaust fills the network to 100 % and times refused reservations
// (ResourceExhausted): back to back, and each right after a commit (a
// release and a reservation of the freed address), as under churn on a
// full network.
func (e *env) exhaust(ctx context.Context, cs []*rpcclient.Client, h *holder, prefill func(int) error, usable int) error {
	if err := prefill(usable); err != nil {
		return err
	}
	x := &exhaustResult{Filled: h.len()}
	e.res.Daemon.Exhaust = x
	refuse := func(tag string) (time.Duration, error) {
		t := time.Now()
		_, err := cs[0].IPAMReserve(ctx, &api.IPAMReserveRequest{Network: netName, Owner: tag})
		d := time.Since(t)
		if status.Code(err) != codes.ResourceExhausted {
			return d, fmt.Errorf("IPAMReserve on a full network: %v, want ResourceExhausted", err)
		}
		return d, nil
	}
	const k = 5
	var lat []time.Duration
	for i := range k {
		d, err := refuse(fmt.Sprintf("full-%d", i))
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	x.Refused = summarize(lat, 0)
	lat = nil
	var some netip.Addr
	h.mu.Lock()
	for a := range h.held {
		some = a
		break
	}
	h.mu.Unlock()
	for i := range k {
		if _, err := h.release(ctx, cs[:1], []netip.Addr{some}); err != nil {
			return err
		}
		addrs, _, err := h.reserve(ctx, cs[:1], fmt.Sprintf("churn%d", i), 1)
		if err != nil {
			return err
		}
		some = addrs[0]
		d, err := refuse(fmt.Sprintf("full-after-commit-%d", i))
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	x.RefusedAfterCommit = summarize(lat, 0)
	logf("quantumnetd: 100 %% full (%d): refused IPAMReserve p50 %s back to back, %s right after a commit",
		x.Filled, fmtDur(x.Refused.P50), fmtDur(x.RefusedAfterCommit.P50))
	return nil
}

// rebuild: bring the network to exactly -rebuild reservations through the
// daemon, stop it, start a fresh one and time it until IPAMShow answers
// with all of them; then time the pool rebuild alone in this process.
func (e *env) rebuild(ctx context.Context, nb *nbServer, d *qnd, c *rpcclient.Client, cs []*rpcclient.Client,
	h *holder, prefill func(int) error, usable int) error {
	want := *flagRebuild
	if want > usable {
		return fmt.Errorf("-rebuild %d: the /%d has %d usable addresses", want, *flagPrefix, usable)
	}
	if err := prefill(want); err != nil {
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
		if _, err := h.release(ctx, cs, addrs); err != nil {
			return err
		}
	}
	s, err := show(ctx, c)
	if err != nil {
		return err
	}
	if err := h.check(s); err != nil || h.len() != want {
		return fmt.Errorf("rebuild: before the restart %v (the benchmark holds %d, want %d)", err, h.len(), want)
	}
	// The fresh daemon must find the benchmark's reservations and its own.
	total := want + len(h.own)
	r := &rebuildResult{Reservations: total}
	e.res.Rebuild = r
	if fi, err := os.Stat(nb.db); err == nil {
		r.DBFileBytes = fi.Size()
	}
	// Stop the daemon that wrote them; a fresh one must find them in NB.
	closeAll(cs)
	c.Close()
	d.Stop()
	logf("rebuild: %d reservations in NB (%d of them the daemon's own); starting a fresh quantumnetd", total, len(h.own))

	d2, err := e.startDaemon(nb.remote, "bench-2", "info")
	if err != nil {
		return err
	}
	var c2 *rpcclient.Client
	defer func() {
		if c2 != nil {
			c2.Close()
		}
	}()
	deadline := d2.started.Add(60 * time.Second)
	var last error
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) || d2.Exited() {
			return fmt.Errorf("rebuild: the fresh daemon never answered IPAMShow with %d used: %v\n%s", total, last, harness.TailFile(d2.LogPath, 20))
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
			break
		}
		if err == nil {
			err = fmt.Errorf("used %d, %d reservations", s.Used, len(s.Reservations))
		}
		last = err
		time.Sleep(time.Millisecond)
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
	return e.rebuildInProcess(ctx, nb, total, r)
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

// procMem returns VmRSS and VmHWM of pid, in KiB.
func procMem(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
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
