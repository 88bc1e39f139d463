package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/harness"
)

// level is the ADD samples taken with about Ports ports on the host.
type level struct {
	Ports    int     `json:"ports"`     // on the host before the first sample
	PortsEnd int     `json:"ports_end"` // before the last
	QN       latency `json:"quantumnet"`
	Floor    latency `json:"floor"`
	// Phases are the medians of the quantumnet samples' phases as the
	// daemon logs them (attached ... nb= veth= ovs= installed=), in ms.
	Phases map[string]float64 `json:"phases_ms,omitempty"`
	ids    []string
}

type latency struct {
	N      int     `json:"n"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	took   []time.Duration
	Errors int `json:"errors"`
}

func (l *latency) done() { l.N, l.P50ms, l.P99ms, l.MaxMs = harness.Percentiles(l.took) }

// add attaches a new container through the CNI plugin; a failure leaves
// the attachment recorded (the sandbox's end takes it).
func (b *bench) add(ctx context.Context, ns string) (time.Duration, error) {
	b.mu.Lock()
	a := &attachment{id: fmt.Sprintf("scale-%d-%d", b.Pid, len(b.atts)), ns: ns}
	b.atts = append(b.atts, a)
	b.mu.Unlock()
	t0 := time.Now()
	r, err := b.cni.AddNetworkList(ctx, b.list, a.rt())
	took := time.Since(t0)
	if err != nil {
		return took, fmt.Errorf("ADD %s: %w", a.id, err)
	}
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		return took, fmt.Errorf("ADD %s: no address in the result (%v)", a.id, err)
	}
	a.ip, _ = netip.AddrFromSlice(res.IPs[0].Address.IP.To4())
	for _, i := range res.Interfaces {
		if i.Sandbox != "" {
			a.mac = i.Mac
		}
	}
	return took, nil
}

// fill attaches containers, -parallel at a time, until the host has n
// (untimed).
func (b *bench) fill(ctx context.Context, n int) error {
	b.mu.Lock()
	need := n - len(b.atts)
	b.mu.Unlock()
	if need <= 0 {
		return nil
	}
	logf("filling the host up to %d attachments (%d ADDs, %d at a time, untimed)", n, need, *flagParallel)
	nss, err := b.newNamespaces("c", need)
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan string)
	)
	for range *flagParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range next {
				if _, err := b.add(ctx, ns); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, ns := range nss {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- ns
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// sample takes the ADD samples of one level: each round a floor ADD (its
// OVS port removed again, untimed) then a quantumnet ADD (kept), so that
// both see the same host and the same background load.
func (b *bench) sample(ctx context.Context, lv *level) error {
	nss, err := b.newNamespaces("c", *flagSamples)
	if err != nil {
		return err
	}
	b.mu.Lock()
	lv.Ports = len(b.atts)
	b.mu.Unlock()
	logf("%d ports on the host: %d floor and %d quantumnet ADDs, alternating", lv.Ports, *flagSamples, *flagSamples)
	bridge := "br-int"
	defer b.perf(fmt.Sprintf("add-%d", lv.Ports), b.D.Pid())()
	for i, ns := range nss {
		f := b.floor[0]
		b.floor = b.floor[1:]
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		insert, wait, err := harness.FloorAdd(fctx, b.ovsc, bridge, f.host, f.lsp, nil)
		took := insert + wait
		cancel()
		if err != nil {
			lv.Floor.Errors++
			return err
		}
		lv.Floor.took = append(lv.Floor.took, took)
		if err := harness.FloorDel(ctx, b.ovsc, bridge, f.host); err != nil {
			return err
		}
		if i == len(nss)-1 {
			b.mu.Lock()
			lv.PortsEnd = len(b.atts)
			b.mu.Unlock()
		}
		took, err = b.add(ctx, ns)
		b.mu.Lock()
		lv.ids = append(lv.ids, b.atts[len(b.atts)-1].id)
		b.mu.Unlock()
		if err != nil {
			lv.QN.Errors++
			return err
		}
		lv.QN.took = append(lv.QN.took, took)
	}
	lv.QN.done()
	lv.Floor.done()
	return nil
}

// grow fills the host level by level and samples each; it ends with the
// memory at the last level.
func (b *bench) grow(ctx context.Context, rep *results) error {
	for _, n := range b.levels {
		if err := b.fill(ctx, n); err != nil {
			return err
		}
		lv := &level{}
		rep.ADD = append(rep.ADD, lv)
		if err := b.sample(ctx, lv); err != nil {
			return err
		}
	}
	return nil
}
