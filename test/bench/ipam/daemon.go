package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
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
func (e *env) startDaemon(nbRemote, name, level string, ovnExtra ...string) (*qnd, error) {
	dir, err := os.MkdirTemp(e.h.Tmp, "qnd")
	if err != nil {
		return nil, err
	}
	d := &qnd{started: time.Now()}
	d.Daemon, err = harness.StartDaemon(harness.DaemonConfig{Bin: e.h.Bin, Dir: dir, NB: nbRemote, Chassis: name, LogLevel: level,
		OVNExtra: strings.Join(ovnExtra, "\n")})
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
	return showNet(ctx, c, netName)
}

func showNet(ctx context.Context, c *rpcclient.Client, name string) (*api.IPAMSubnet, error) {
	u, err := c.IPAMShow(ctx, &api.NetworkRef{Name: name})
	if err != nil {
		return nil, err
	}
	if len(u.Subnets) != 1 {
		return nil, fmt.Errorf("IPAMShow: %d subnets, want 1", len(u.Subnets))
	}
	return u.Subnets[0], nil
}

// ---------------------------------------------------------------- section 1 + 3

// qnRun is quantumnetd's part of the benchmark: its Northbound, the
// daemon, a client for IPAMShow and the workers' clients, and the
// reservations the benchmark holds.
type qnRun struct {
	nb      *nbServer
	d       *qnd
	c       *rpcclient.Client
	cs      []*rpcclient.Client
	h       *holder
	usable  int // what the benchmark can reserve
	fillSeq int
}

func (q *qnRun) close() {
	closeAll(q.cs)
	if q.c != nil {
		q.c.Close()
	}
}

func (e *env) quantumnetd(ctx context.Context, fills []int) error {
	q := &qnRun{h: &holder{held: map[netip.Addr]string{}}}
	defer q.close()
	if err := e.startQN(ctx, q); err != nil {
		return err
	}
	for _, fill := range fills {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := e.level(ctx, q, fill); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := e.exhaust(ctx, q.cs, q.h, q.prefiller(ctx, e), q.usable); err != nil {
		return fmt.Errorf("at 100 %% full: %w", err)
	}
	if *flagRebuild == 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	return e.rebuild(ctx, q)
}

// startQN starts Northbound and the daemon, creates the network, dials
// the workers and warms up.
func (e *env) startQN(ctx context.Context, q *qnRun) error {
	var err error
	if q.nb, err = e.startNB(ctx); err != nil {
		return err
	}
	if q.d, err = e.startDaemon(q.nb.remote, "bench-1", "warn"); err != nil {
		return err
	}
	if q.c, err = q.d.client(ctx, 20*time.Second); err != nil {
		return err
	}
	subnet := netip.PrefixFrom(netip.MustParseAddr(subnetBase), *flagPrefix)
	if _, err := q.c.CreateNetwork(ctx, &api.Network{Name: netName, Subnet4: subnet.String()}); err != nil {
		return fmt.Errorf("CreateNetwork: %w", err)
	}
	s, err := show(ctx, q.c)
	if err != nil {
		return err
	}
	if err := q.h.daemonOwn(s, subnet); err != nil {
		return err
	}
	e.res.Daemon.RSSEmptyKiB, _ = procMem(q.d.Pid())
	// What the benchmark can reserve: the range less the daemon's own
	// reservations (the resolver's address).
	q.usable = int(s.Size-s.Reserved) - len(q.h.own)
	e.res.Daemon.Usable, e.res.Daemon.Workers = q.usable, *flagWorkers
	if q.cs, err = q.d.dialN(ctx, *flagWorkers); err != nil {
		return err
	}
	// Warm up (not timed): connections, caches, the daemon's first rebuild.
	if addrs, _, err := q.h.reserve(ctx, q.cs[:1], "warmup", 20); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	} else if _, err := q.h.release(ctx, q.cs[:1], addrs); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// prefiller returns the pre-fill of the network to target reservations
// (untimed for the levels, recorded in the results).
func (q *qnRun) prefiller(ctx context.Context, e *env) func(target int) error {
	return func(target int) error {
		h := q.h
		from := h.len()
		if target <= from {
			return nil
		}
		_, st, err := h.reserve(ctx, q.cs, "fill"+strconv.Itoa(q.fillSeq), target-from)
		q.fillSeq++
		e.res.Daemon.Prefill = append(e.res.Daemon.Prefill, prefillResult{From: from, To: h.len(), Stats: st})
		logf("quantumnetd: pre-filled %d -> %d in %s (%.0f reservations/s, %d clients)", from, h.len(), st.Total.Round(time.Millisecond), st.PerSec, len(q.cs))
		return err
	}
}

// level measures one fill level: reserves and releases, sequential then
// on every worker, and checks the daemon's view after.
func (e *env) level(ctx context.Context, q *qnRun, fill int) error {
	h, cs := q.h, q.cs
	target := q.usable * fill / 100
	n := min(*flagN, q.usable-target) // what fits
	if n < 1 {
		return fmt.Errorf("fill %d %%: no free address left", fill)
	}
	if err := q.prefiller(ctx, e)(target); err != nil {
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
	if s, err := show(ctx, q.c); err != nil {
		return err
	} else if err := h.check(s); err != nil {
		return fmt.Errorf("fill %d %%: after the phase %w", fill, err)
	}
	return nil
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
