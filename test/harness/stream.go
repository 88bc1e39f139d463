package harness

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// AddRecord is one container's ADD in a stream: its first attempt's start,
// the time until an attempt succeeded, the attempts, and the address.
type AddRecord struct {
	ID, Netns, IP string
	Start         time.Time
	Took          time.Duration
	Tries         int
	Err           error // the last attempt's, when none succeeded
}

// MakeNetns creates the network namespace name (a container) and returns
// its path; DelNetns removes it.
func MakeNetns(name string) (string, error) {
	_ = exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	return "/var/run/netns/" + name, nil
}

// DelNetns removes the network namespace name.
func DelNetns(name string) { _ = exec.Command("ip", "netns", "del", name).Run() }

// AddStream runs n CNI ADDs through c, conc at a time, each of container
// prefix-i into a fresh network namespace, as a runtime would: a failed
// ADD is deleted and tried again (every 200 ms) until it succeeds or ctx
// ends. before(i), when not nil, runs before ADD i is started (a test kills
// a database there). The records are in container order.
func AddStream(ctx context.Context, c *CNI, prefix string, n, conc int, before func(i int)) []AddRecord {
	recs := make([]AddRecord, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range recs {
		if before != nil {
			before(i)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			recs[i] = addOne(ctx, c, fmt.Sprintf("%s-%d", prefix, i))
		}()
	}
	wg.Wait()
	return recs
}

func addOne(ctx context.Context, c *CNI, id string) AddRecord {
	r := AddRecord{ID: id, Start: time.Now()}
	r.Netns, r.Err = MakeNetns(NetnsName(id))
	if r.Err != nil {
		return r
	}
	rt := RT(id, r.Netns, "eth0")
	for ctx.Err() == nil {
		r.Tries++
		res, err := c.Config.AddNetworkList(ctx, c.List, rt)
		if err == nil {
			r.Took, r.Err = time.Since(r.Start), nil
			if cur, cerr := current.NewResultFromResult(res); cerr == nil && len(cur.IPs) > 0 {
				r.IP = cur.IPs[0].Address.IP.String()
			}
			return r
		}
		r.Err = err
		_ = c.Config.DelNetworkList(ctx, c.List, rt)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return r
}

// DelStream deletes what AddStream added and removes the namespaces.
func DelStream(ctx context.Context, c *CNI, recs []AddRecord) {
	for _, r := range recs {
		if r.Netns == "" {
			continue
		}
		_ = c.Config.DelNetworkList(ctx, c.List, RT(r.ID, r.Netns, "eth0"))
		DelNetns(NsName(r.Netns))
	}
}

// Percentile is the p-th percentile (0-100) of ds, 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
