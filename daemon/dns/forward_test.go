package dns

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream runs a plain miekg server on one loopback port (UDP and TCP)
// that stands for the network's upstream resolver.
func upstream(t *testing.T) string {
	t.Helper()
	var (
		pc  net.PacketConn
		l   net.Listener
		err error
	)
	for range 10 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: dns.HandlerFunc(upstreamAnswer)}, {Listener: l, Handler: dns.HandlerFunc(upstreamAnswer)}} {
		started, done := make(chan struct{}), make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() {
			defer close(done)
			if err := s.ActivateAndServe(); err != nil {
				t.Errorf("upstream: %v", err)
			}
		}()
		<-started
		t.Cleanup(func() {
			s.Shutdown()
			<-done
		})
	}
	return pc.LocalAddr().String()
}

func upstreamAnswer(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	q := req.Question[0]
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	switch strings.ToLower(q.Name) {
	case "example.com.":
		resp.Answer = []dns.RR{rr(q.Name + " 300 IN A 192.0.2.1")}
	case "nx.example.":
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{rr("example. 60 IN SOA ns.example. h.example. 7 1 1 1 60")}
	case "8.8.8.8.in-addr.arpa.":
		resp.Answer = []dns.RR{rr(q.Name + " 300 IN PTR dns.google.")}
	case "opt.example.": // tells what the upstream received
		edns, do, size := false, false, 0
		if opt := req.IsEdns0(); opt != nil {
			edns, do, size = true, opt.Do(), int(opt.UDPSize())
		}
		resp.Answer = []dns.RR{rr(fmt.Sprintf(`opt.example. 300 IN TXT "edns=%v do=%v size=%d"`, edns, do, size))}
	case "big.example.":
		for i := range 60 {
			resp.Answer = append(resp.Answer, rr(fmt.Sprintf("big.example. 300 IN AAAA 2001:db8::%x", i)))
		}
	default:
		resp.Rcode = dns.RcodeRefused
	}
	size := dns.MaxMsgSize
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(4096, opt.Do())
		if w.LocalAddr().Network() == "udp" {
			size = int(opt.UDPSize())
		}
	} else if w.LocalAddr().Network() == "udp" {
		size = dns.MinMsgSize
	}
	resp.Truncate(size)
	w.WriteMsg(resp)
}

// deadUDP returns the address of a UDP socket that never answers.
func deadUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestForward(t *testing.T) {
	up := upstream(t)
	r := &Resolver{Upstream: func(network string) []string {
		if network != "net1" {
			t.Errorf("Upstream(%q), want net1", network)
		}
		return []string{up}
	}}
	udp, tcp := serve(t, r, static(testRecords()))
	var big []string
	for i := range 60 {
		rr, err := dns.NewRR(fmt.Sprintf("big.example. 300 IN AAAA 2001:db8::%x", i))
		if err != nil {
			t.Fatal(err)
		}
		big = append(big, rrs([]dns.RR{rr})...)
	}
	runAnswerCases(t, udp, tcp, []answerCase{
		{name: "foreign name relayed", qname: "example.com.", qtype: dns.TypeA,
			answer: []string{"example.com. 300 IN A 192.0.2.1"}},
		{name: "foreign name over TCP", qname: "example.com.", qtype: dns.TypeA, tcp: true,
			answer: []string{"example.com. 300 IN A 192.0.2.1"}},
		{name: "case is kept as asked", qname: "EXAMPLE.com.", qtype: dns.TypeA,
			answer: []string{"EXAMPLE.com. 300 IN A 192.0.2.1"}},
		{name: "upstream rcode relayed", qname: "nx.example.", qtype: dns.TypeA, rcode: dns.RcodeNameError,
			soa: "example."},
		{name: "foreign reverse name", qname: "8.8.8.8.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"8.8.8.8.in-addr.arpa. 300 IN PTR dns.google."}},
		{name: "own names stay local", qname: "web1.quantix.local.", qtype: dns.TypeA, aa: true,
			answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5"}},
		{name: "own subnet stays local", qname: "99.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev4},
		{name: "query without EDNS forwarded without", qname: "opt.example.", qtype: dns.TypeTXT,
			answer: []string{`opt.example. 300 IN TXT "edns=false do=false size=0"`}},
		{name: "EDNS and DO forwarded unchanged", qname: "opt.example.", qtype: dns.TypeTXT, edns: 1400, do: true,
			answer: []string{`opt.example. 300 IN TXT "edns=true do=true size=1400"`}},
		// Without EDNS the upstream truncates over UDP: the full answer
		// comes from the TCP retry.
		{name: "truncated upstream answer retried over TCP", qname: "big.example.", qtype: dns.TypeAAAA, tcp: true,
			answer: big},
	})
	// The SOA of the relayed NXDOMAIN is the upstream's.
	resp := exchange(t, "udp", udp, query("nx.example.", dns.TypeA, 0, false))
	if got := rrs(resp.Ns); !slices.Equal(got, []string{"example. 60 IN SOA ns.example. h.example. 7 1 1 1 60"}) {
		t.Errorf("authority %q, want the upstream's SOA", got)
	}
}

// lockedBuffer is a log sink the handler goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestForwardFailures(t *testing.T) {
	up := upstream(t)
	cases := []struct {
		name     string
		servers  []string
		rcode    int
		answer   []string
		failures int  // forward failures logged
		slow     bool // waits for one Timeout
	}{
		{name: "upstream port closed", servers: []string{closedPort(t)}, rcode: dns.RcodeServerFailure, failures: 1},
		{name: "upstream silent", servers: []string{deadUDP(t)}, rcode: dns.RcodeServerFailure, failures: 1, slow: true},
		{name: "all upstreams down", servers: []string{closedPort(t), deadUDP(t)}, rcode: dns.RcodeServerFailure,
			failures: 2, slow: true},
		{name: "next upstream answers", servers: []string{deadUDP(t), up},
			answer: []string{"example.com. 300 IN A 192.0.2.1"}, failures: 1, slow: true},
		{name: "first upstream wins", servers: []string{up, closedPort(t)},
			answer: []string{"example.com. 300 IN A 192.0.2.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			r := &Resolver{
				Upstream: func(string) []string { return tc.servers },
				Timeout:  300 * time.Millisecond,
				Log:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			}
			udp, _ := serve(t, r, static(testRecords()))
			req := query("example.com.", dns.TypeA, 1232, false)
			start := time.Now()
			// The client gives up after 1.5s: a reply means the resolver
			// used Timeout, not its 2s default.
			resp := exchange(t, "udp", udp, req)
			elapsed := time.Since(start)
			checkReply(t, req, resp)
			if resp.Rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
			}
			if got := rrs(resp.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("answer %q, want %q", got, tc.answer)
			}
			if tc.slow && elapsed < 250*time.Millisecond {
				t.Errorf("reply after %v, want it after waiting about Timeout (300ms)", elapsed)
			}
			if got := strings.Count(logs.String(), "dns forward failed"); got != tc.failures {
				t.Errorf("%d forward failures logged, want %d:\n%s", got, tc.failures, logs.String())
			}
		})
	}
}
