package main

import (
	"context"
	"fmt"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// path is one way from the client to a member and its times.
type path struct {
	Name   string          `json:"path"`
	addr   string          //
	port   int             //
	direct bool            // the baseline the VIP is compared with
	took   []time.Duration // connect() until the answer is in
	P50    float64         `json:"p50_ms"`
	P99    float64         `json:"p99_ms"`
	Max    float64         `json:"max_ms"`
	N      int             `json:"connections"`
}

// latency measures -n connections per path, interleaved: through the VIP
// (no health check on the load balancer) and directly to the first member.
func (b *bench) latency(ctx context.Context) ([]*path, error) {
	m := b.members[0]
	paths := []*path{
		{Name: fmt.Sprintf("client -> VIP %s:%d (load balancer)", vip, vipPort), addr: vip, port: vipPort},
		{Name: fmt.Sprintf("client -> member %s:%d (direct)", m.ip, mbrPort), addr: m.ip, port: mbrPort, direct: true},
	}
	logf("connection setup: %d connections per path, interleaved", *flagN)
	for i := 0; i < *flagN && ctx.Err() == nil; i++ {
		for _, p := range paths {
			_, took, err := request(b.client, p.addr, p.port)
			if err != nil {
				return nil, fmt.Errorf("%s: connection %d: %w", p.Name, i+1, err)
			}
			p.took = append(p.took, took)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, p := range paths {
		p.N, p.P50, p.P99, p.Max = harness.Percentiles(p.took)
	}
	return paths, nil
}
