package dns

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// TestUDPReplyFromQueryAddress: on a socket bound to every address, the
// reply leaves from the address the query was sent to (a client's
// connected socket takes nothing else), for two addresses of one socket.
func TestUDPReplyFromQueryAddress(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Resolver{}).Serve(ctx, "net1", pc, nil, static(testRecords())) }()
	t.Cleanup(func() {
		cancel()
		if !serveReturned(t, done) {
			t.Error("Serve did not return after cancel")
		}
	})
	port := pc.LocalAddr().(*net.UDPAddr).Port
	for _, addr := range []string{"127.0.0.1", "127.0.0.2"} {
		// dns.Client dials: a connected socket, which drops datagrams
		// from any other source.
		resp := exchange(t, "udp", net.JoinHostPort(addr, strconv.Itoa(port)), query("web1.quantix.local.", dns.TypeA, 0, false))
		if got := rrs(resp.Answer); len(got) != 1 || got[0] != "web1.quantix.local. 1 IN A 10.0.0.5" {
			t.Errorf("via %s: %q", addr, got)
		}
	}
}

// TestForwardSocketsReused: forwarded queries reuse a socket to the
// upstream, each for at most maxSocketUses queries: 40 queries in a row
// come from between 40/maxSocketUses and a handful of source ports, and
// concurrent queries each get a socket of their own (all answered).
func TestForwardSocketsReused(t *testing.T) {
	var (
		mu    sync.Mutex
		ports = map[int]int{}
	)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		mu.Lock()
		ports[w.RemoteAddr().(*net.UDPAddr).Port]++
		mu.Unlock()
		upstreamAnswer(w, req)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	up := pc.LocalAddr().String()
	udp, _ := serve(t, &Resolver{Upstream: func(string) []string { return []string{up} }}, static(testRecords()))

	const n = 40
	for range n {
		resp := exchange(t, "udp", udp, query("example.com.", dns.TypeA, 0, false))
		if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
			t.Fatalf("forwarded: %v", resp)
		}
	}
	mu.Lock()
	for port, uses := range ports {
		if uses > maxSocketUses {
			t.Errorf("source port %d used for %d queries, at most %d", port, uses, maxSocketUses)
		}
	}
	if min := (n + maxSocketUses - 1) / maxSocketUses; len(ports) < min || len(ports) > n/4 {
		t.Errorf("%d queries from %d source ports, want %d to %d (reused, at most %d times each)", n, len(ports), min, n/4, maxSocketUses)
	}
	mu.Unlock()

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: clientTimeout}
			resp, _, err := c.Exchange(query("example.com.", dns.TypeA, 0, false), udp)
			if err != nil || resp.Rcode != dns.RcodeSuccess {
				t.Errorf("concurrent forward: %v %v", err, resp)
			}
		}()
	}
	wg.Wait()
}

// TestPTRSharedAddress: an address two hosts share answers both names,
// sorted; an address a host lists twice (and as a v4-mapped v6 address)
// answers its name once; a host outside the subnets is still found.
func TestPTRSharedAddress(t *testing.T) {
	recs := &Records{Domain: "Quantix.Local.", Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		Hosts: map[string][]netip.Addr{
			"web2": {netip.MustParseAddr("10.0.0.7")},
			"web1": {netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("::ffff:10.0.0.7")},
			"out":  {netip.MustParseAddr("192.0.2.9")},
		}}
	udp, _ := serve(t, &Resolver{}, static(recs))
	for _, c := range []struct{ qname, want string }{
		{"7.0.0.10.in-addr.arpa.", "7.0.0.10.in-addr.arpa. 1 IN PTR web1.quantix.local.,7.0.0.10.in-addr.arpa. 1 IN PTR web2.quantix.local."},
		{"9.2.0.192.in-addr.arpa.", "9.2.0.192.in-addr.arpa. 1 IN PTR out.quantix.local."},
	} {
		resp := exchange(t, "udp", udp, query(c.qname, dns.TypePTR, 0, false))
		if got := strings.Join(rrs(resp.Answer), ","); got != c.want {
			t.Errorf("%s: %q, want %q", c.qname, got, c.want)
		}
	}
}
