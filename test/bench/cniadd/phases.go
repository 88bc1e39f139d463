package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// ---------------------------------------------------------------- namespaces

func (b *bench) newNamespaces(ctx context.Context, c *contender, n int) ([]*attachment, error) {
	atts := make([]*attachment, n)
	var batch strings.Builder
	b.nsMu.Lock()
	for i := range atts {
		b.seq++
		name := fmt.Sprintf("%s%d-%d", nsPrefix, b.pid, b.seq)
		atts[i] = &attachment{
			id:   fmt.Sprintf("qnbench-%d-%s-%d", b.pid, c.short, b.seq),
			ns:   name,
			path: "/run/netns/" + name,
		}
		b.namespaces[name] = true // deleted by the cleanup even if "add" fails half-way
		fmt.Fprintf(&batch, "netns add %s\n", name)
	}
	b.nsMu.Unlock()
	if out, err := b.cmdStdin(ctx, batch.String(), "ip", "-batch", "-"); err != nil {
		return nil, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	return atts, nil
}

func (b *bench) deleteNamespaces(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var batch strings.Builder
	for _, n := range names {
		fmt.Fprintf(&batch, "netns del %s\n", n)
	}
	out, err := b.cmdStdin(ctx, batch.String(), "ip", "-force", "-batch", "-")
	b.nsMu.Lock()
	for _, n := range names {
		if _, serr := os.Stat("/run/netns/" + n); os.IsNotExist(serr) {
			delete(b.namespaces, n)
		}
	}
	left := 0
	for _, n := range names {
		if b.namespaces[n] {
			left++
		}
	}
	b.nsMu.Unlock()
	if left > 0 {
		return fmt.Errorf("%d namespace(s) not deleted: %v: %s", left, err, out)
	}
	return nil
}

// onlyLoopback checks that netns path holds no interface but lo.
func onlyLoopback(path string) error {
	var extra []string
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				extra = append(extra, l.Attrs().Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		return fmt.Errorf("netns %s still has %v", path, extra)
	}
	return nil
}

// ---------------------------------------------------------------- phases

type phaseResult struct {
	Contender   string    `json:"contender"`
	Mode        string    `json:"mode"`
	N           int       `json:"n"`
	Parallel    int       `json:"parallel"`
	P50ms       float64   `json:"p50_ms"`
	P99ms       float64   `json:"p99_ms"`
	MinMs       float64   `json:"min_ms"`
	MaxMs       float64   `json:"max_ms"`
	MeanMs      float64   `json:"mean_ms"`
	WallMs      float64   `json:"wall_ms"`
	AddsPerSec  float64   `json:"adds_per_sec"`
	DelWallMs   float64   `json:"del_wall_ms"`
	LatenciesMs []float64 `json:"latencies_ms,omitempty"`
	Error       string    `json:"error,omitempty"`

	atts []*attachment // in the order of LatenciesMs
	lat  []time.Duration
}

func modeName(par int) string {
	if par <= 1 {
		return "sequential"
	}
	return fmt.Sprintf("%d parallel", par)
}

// add runs one ADD; the attachment is registered first, so that the
// cleanup deletes whatever a failed or interrupted ADD left.
func (b *bench) add(ctx context.Context, c *contender, a *attachment) (time.Duration, error) {
	c.mu.Lock()
	c.live[a.id] = a
	c.mu.Unlock()
	if c.addFn != nil {
		t0 := time.Now()
		err := c.addFn(ctx, a)
		return time.Since(t0), err
	}
	t0 := time.Now()
	res, err := b.cni.AddNetworkList(ctx, c.list, a.rt())
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("ADD %s (netns %s): %w", a.id, a.ns, err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return d, fmt.Errorf("ADD %s: result: %w", a.id, err)
	}
	a.result = r
	return d, nil
}

func (b *bench) del(ctx context.Context, c *contender, a *attachment) error {
	return b.delWith(ctx, b.cni, c, a)
}

func (b *bench) delWith(ctx context.Context, cni *libcni.CNIConfig, c *contender, a *attachment) error {
	if c.delFn != nil {
		if err := c.delFn(ctx, a); err != nil {
			return fmt.Errorf("DEL %s: %w", a.id, err)
		}
	} else if err := cni.DelNetworkList(ctx, c.list, a.rt()); err != nil {
		return fmt.Errorf("DEL %s: %w", a.id, err)
	}
	c.mu.Lock()
	delete(c.live, a.id)
	c.mu.Unlock()
	return nil
}

// detachedExec runs a plugin like libcni's default exec, but in its own
// process group, so that a second Ctrl-C in the terminal does not kill the
// cleanup's DELs. Only the (untimed) cleanup uses it.
type detachedExec struct{ version.PluginDecoder }

func (*detachedExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	c := exec.CommandContext(ctx, path)
	c.Env = env
	c.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Run(); err != nil {
		e := &types.Error{}
		if json.Unmarshal(stdout.Bytes(), e) == nil && e.Msg != "" {
			return nil, e
		}
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(path), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (*detachedExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

// forEach runs f(i) for i in [0,n) with par workers; it stops handing out
// work after the first error and returns all errors.
func forEach(ctx context.Context, n, par int, f func(int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan int)
	)
	stop := make(chan struct{})
	var once sync.Once
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					once.Do(func() { close(stop) })
				}
			}
		}()
	}
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return errs
}

func (b *bench) warmup(ctx context.Context, c *contender) error {
	if *flagWarmup == 0 {
		return nil
	}
	logf("%s: warm-up (%d untimed ADD+DEL)", c.name, *flagWarmup)
	atts, err := b.newNamespaces(ctx, c, *flagWarmup)
	if err != nil {
		return err
	}
	if err := b.prepare(ctx, c, atts); err != nil {
		return err
	}
	for _, a := range atts {
		if _, err := b.add(ctx, c, a); err != nil {
			return err
		}
		if err := b.del(ctx, c, a); err != nil {
			return err
		}
	}
	if err := c.verify(ctx, atts); err != nil {
		return fmt.Errorf("after warm-up DEL: %w", err)
	}
	return b.deleteNamespaces(ctx, nsNames(atts))
}

// prepare readies the attachments of a contender that needs it (the
// floor), not timed; they are registered as live first, so that the
// cleanup removes what a failed prepare left.
func (b *bench) prepare(ctx context.Context, c *contender, atts []*attachment) error {
	if c.prepare == nil {
		return nil
	}
	c.mu.Lock()
	for _, a := range atts {
		c.live[a.id] = a
	}
	c.mu.Unlock()
	return c.prepare(ctx, atts)
}

func nsNames(atts []*attachment) []string {
	out := make([]string, len(atts))
	for i, a := range atts {
		out[i] = a.ns
	}
	return out
}

func (b *bench) phase(ctx context.Context, c *contender, n, par int) *phaseResult {
	pr := &phaseResult{Contender: c.name, Mode: modeName(par), N: n, Parallel: par}
	fail := func(err error) *phaseResult {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		pr.Error = err.Error()
		return pr
	}
	atts, err := b.newNamespaces(ctx, c, n)
	if err != nil {
		return fail(err)
	}
	if err := b.prepare(ctx, c, atts); err != nil {
		return fail(err)
	}
	logf("%s: %d ADDs, %s", c.name, n, pr.Mode)
	lat := make([]time.Duration, n)
	start := time.Now()
	errs := forEach(ctx, n, par, func(i int) error {
		d, err := b.add(ctx, c, atts[i])
		lat[i] = d
		return err
	})
	wall := time.Since(start)
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	if len(errs) > 0 {
		return fail(fmt.Errorf("%d ADD(s) failed; first: %w", len(errs), errs[0]))
	}
	if err := checkUnique(atts); err != nil {
		b.problem("%s %s: %v", c.name, pr.Mode, err)
		return fail(err)
	}

	// DEL everything (not timed), then check nothing is left.
	dstart := time.Now()
	if errs := forEach(ctx, n, max(par, 8), func(i int) error { return b.del(ctx, c, atts[i]) }); len(errs) > 0 {
		return fail(fmt.Errorf("%d DEL(s) failed; first: %w", len(errs), errs[0]))
	}
	pr.DelWallMs = ms(time.Since(dstart))
	if err := c.verify(ctx, atts); err != nil {
		b.problem("%s %s: after DEL: %v", c.name, pr.Mode, err)
		return fail(fmt.Errorf("after DEL: %w", err))
	}
	if err := b.deleteNamespaces(ctx, nsNames(atts)); err != nil {
		return fail(err)
	}

	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range lat {
		sum += d
		pr.LatenciesMs = append(pr.LatenciesMs, ms(d))
	}
	pr.P50ms = ms(percentile(sorted, 50))
	pr.P99ms = ms(percentile(sorted, 99))
	pr.MinMs, pr.MaxMs = ms(sorted[0]), ms(sorted[len(sorted)-1])
	pr.MeanMs = ms(sum / time.Duration(n))
	pr.WallMs = ms(wall)
	pr.AddsPerSec = float64(n) / wall.Seconds()
	pr.atts, pr.lat = atts, lat
	return pr
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkUnique verifies the ADD results: one container interface with an
// address each, and no address or MAC handed out twice.
func checkUnique(atts []*attachment) error {
	ips := map[string]string{}
	macs := map[string]string{}
	var errs []error
	for _, a := range atts {
		if a.result == nil || len(a.result.IPs) == 0 {
			errs = append(errs, fmt.Errorf("%s: result without IPs", a.id))
			continue
		}
		for _, ip := range a.result.IPs {
			s := ip.Address.IP.String()
			if other, dup := ips[s]; dup {
				errs = append(errs, fmt.Errorf("address %s given to both %s and %s", s, other, a.id))
			}
			ips[s] = a.id
		}
		for _, i := range a.result.Interfaces {
			if i.Sandbox == "" || i.Mac == "" {
				continue
			}
			if other, dup := macs[i.Mac]; dup {
				errs = append(errs, fmt.Errorf("MAC %s given to both %s and %s", i.Mac, other, a.id))
			}
			macs[i.Mac] = a.id
		}
	}
	return errors.Join(errs...)
}
