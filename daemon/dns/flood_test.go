package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The flood: floodUDP queries for a name whose upstream never answers,
// sent by another process (its sockets are not counted here) that also
// holds floodTCP idle TCP connections open.
const (
	floodUDP   = 3000
	floodTCP   = 500
	floodBound = 150 // goroutines and descriptors the flood may add
)

// TestResolverFlood floods one network's resolver from a child process and
// checks that the daemon's goroutines and open descriptors stay bounded,
// that another network's resolver still answers its names meanwhile, and
// that the flood gets SERVFAIL (not silence) where the bounds hit.
func TestResolverFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods loopback for a few seconds")
	}
	dead := deadUDP(t)
	r := &Resolver{Timeout: time.Second, Upstream: func(network string) []string {
		if network == "flood" {
			return []string{dead}
		}
		return nil
	}}
	floodPC, floodL := listenBoth(t)
	quietPC, quietL := listenBoth(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []struct {
		name string
		pc   net.PacketConn
		l    net.Listener
	}{{"flood", floodPC, floodL}, {"quiet", quietPC, quietL}} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Serve(ctx, s.name, s.pc, s.l, static(testRecords())) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	quiet := quietPC.LocalAddr().String()
	exchange(t, "udp", quiet, query("web1.quantix.local.", dns.TypeA, 0, false))
	time.Sleep(100 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestResolverFloodChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "QN_DNS_FLOOD_UDP="+floodPC.LocalAddr().String(),
		"QN_DNS_FLOOD_TCP="+floodL.Addr().String())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	maxG, maxFD, quietOK, quietFail := floodWatch(t, done, quiet)
	t.Logf("goroutines %d -> max %d; open fds %d -> max %d; quiet network answered %d, failed %d",
		baseG, maxG, baseFD, maxFD, quietOK, quietFail)
	var res floodResult
	if _, err := fmt.Sscanf(out.String()[strings.Index(out.String(), "FLOOD "):], "FLOOD %d %d %d %d %d",
		&res.servfail, &res.refused, &res.other, &res.silent, &res.tcpClosed); err != nil {
		t.Fatalf("child output: %v\n%s", err, out.String())
	}
	t.Logf("flood: %d UDP queries: SERVFAIL %d, REFUSED %d, other %d, no answer %d; %d of %d idle TCP connections closed at once",
		floodUDP, res.servfail, res.refused, res.other, res.silent, res.tcpClosed, floodTCP)
	if maxG > baseG+floodBound || maxFD > baseFD+floodBound {
		t.Errorf("flood took goroutines to %d (base %d) and fds to %d (base %d), bound base+%d",
			maxG, baseG, maxFD, baseFD, floodBound)
	}
	if quietFail > 0 || quietOK == 0 {
		t.Errorf("the other network's resolver answered %d and failed %d queries during the flood", quietOK, quietFail)
	}
	if res.other > 0 || res.silent > floodUDP/20 || res.servfail+res.refused < floodUDP*19/20 {
		t.Errorf("flood answers: %+v, want SERVFAIL/REFUSED for (nearly) all", res)
	}
	if res.tcpClosed < floodTCP-2*defaultMaxTCPConns {
		t.Errorf("%d of %d idle TCP connections closed at once, want all beyond %d", res.tcpClosed, floodTCP, defaultMaxTCPConns)
	}
}

type floodResult struct{ servfail, refused, other, silent, tcpClosed int }

// floodWatch samples goroutines and descriptors and asks the quiet network
// for a local name until done, returning the maxima and the answer counts.
func floodWatch(t *testing.T, done <-chan error, quiet string) (maxG, maxFD, ok, fail int) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("flood child: %v", err)
			}
			return maxG, maxFD, ok, fail
		case <-tick.C:
		}
		maxG, maxFD = max(maxG, runtime.NumGoroutine()), max(maxFD, openFDs(t))
		if n%10 != 0 {
			continue
		}
		c := &dns.Client{Net: "udp", Timeout: clientTimeout}
		resp, _, err := c.Exchange(query("web1.quantix.local.", dns.TypeA, 0, false), quiet)
		if err != nil || resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
			fail++
		} else {
			ok++
		}
	}
}

func openFDs(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}
