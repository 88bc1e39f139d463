package dns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const clientTimeout = 1500 * time.Millisecond

// testRecords is the network the tests ask about.
func testRecords() *Records {
	many := make([]netip.Addr, 60)
	for i := range many {
		many[i] = netip.AddrFrom16([16]byte{0: 0xfd, 13: 1, 15: byte(i)})
	}
	return &Records{
		Domain: "quantix.local",
		Hosts: map[string][]netip.Addr{
			"web1":   {netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")},
			"db":     {netip.MustParseAddr("10.0.0.6")},
			"v6only": {netip.MustParseAddr("fd00::7")},
			"many":   many,
		},
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::/64")},
	}
}

func static(recs *Records) func() *Records { return func() *Records { return recs } }

// serve runs r for one network on fresh loopback sockets and returns the
// address of both (the same port is not needed: UDP and TCP are separate).
func serve(t *testing.T, r *Resolver, records func() *Records) (udp, tcp string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, "net1", pc, l, records) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return pc.LocalAddr().String(), l.Addr().String()
}

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

func query(name string, qtype uint16, edns uint16, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns != 0 {
		m.SetEdns0(edns, do)
	}
	return m
}

func exchange(t *testing.T, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: clientTimeout}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, addr, err)
	}
	return resp
}

// checkReply checks what every reply owes its query: id, echoed
// question, and an OPT record exactly when the query had one.
func checkReply(t *testing.T, req, resp *dns.Msg) {
	t.Helper()
	if resp.Id != req.Id || !resp.Response {
		t.Errorf("id %d response %v, want id %d and a response", resp.Id, resp.Response, req.Id)
	}
	if len(req.Question) == 1 && (len(resp.Question) != 1 || resp.Question[0] != req.Question[0]) {
		t.Errorf("question %v, want %v as asked", resp.Question, req.Question)
	}
	reqOpt, opt := req.IsEdns0(), resp.IsEdns0()
	switch {
	case reqOpt == nil && opt != nil:
		t.Errorf("OPT %v in the reply to a query without EDNS", opt)
	case reqOpt != nil && opt == nil:
		t.Errorf("no OPT in the reply to a query with EDNS")
	case opt != nil && (opt.UDPSize() != EDNSSize || opt.Do() != reqOpt.Do()):
		t.Errorf("OPT size %d do %v, want %d and %v", opt.UDPSize(), opt.Do(), EDNSSize, reqOpt.Do())
	}
}

// rrs renders records as "name ttl class type rdata".
func rrs(rs []dns.RR) []string {
	var out []string
	for _, r := range rs {
		if r == nil || r.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(r.String()), " "))
	}
	return out
}

// firstSOA is the SOA alone in the authority section.
func firstSOA(resp *dns.Msg) (*dns.SOA, bool) {
	if len(resp.Ns) != 1 {
		return nil, false
	}
	soa, ok := resp.Ns[0].(*dns.SOA)
	return soa, ok
}

// soaOwner is the owner of the SOA in the authority section, or "".
func soaOwner(t *testing.T, resp *dns.Msg) string {
	t.Helper()
	soa, ok := firstSOA(resp)
	if !ok {
		return ""
	}
	if soa.Hdr.Name == "example." { // the test upstream's
		return soa.Hdr.Name
	}
	if soa.Ns != "ns.quantix.local." || soa.Mbox != "hostmaster.quantix.local." || soa.Minttl > 5 || soa.Hdr.Ttl > 5 {
		t.Errorf("SOA %v, want ns./hostmaster.quantix.local. and small TTLs", soa)
	}
	return soa.Hdr.Name
}

type answerCase struct {
	name   string
	qname  string
	qtype  uint16
	tcp    bool
	edns   uint16 // 0: no OPT
	do     bool
	rcode  int
	aa     bool
	answer []string
	soa    string // owner of the SOA in the authority section; "": none
}

func runAnswerCases(t *testing.T, udp, tcp string, cases []answerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := query(tc.qname, tc.qtype, tc.edns, tc.do)
			network, addr := "udp", udp
			if tc.tcp {
				network, addr = "tcp", tcp
			}
			resp := exchange(t, network, addr, req)
			checkReply(t, req, resp)
			if resp.Rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
			}
			if resp.Authoritative != tc.aa {
				t.Errorf("AA %v, want %v", resp.Authoritative, tc.aa)
			}
			if got := rrs(resp.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("answer\n%q\nwant\n%q", got, tc.answer)
			}
			if got := soaOwner(t, resp); got != tc.soa {
				t.Errorf("authority %v, want the SOA of %q", resp.Ns, tc.soa)
			}
		})
	}
}

const (
	rev4 = "0.0.10.in-addr.arpa."
	rev6 = "0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."
)

func TestLocalAnswers(t *testing.T) {
	udp, tcp := serve(t, &Resolver{}, static(testRecords()))
	ptr6 := func(a string) string { n, _ := dns.ReverseAddr(a); return n }
	runAnswerCases(t, udp, tcp, []answerCase{
		{name: "A", qname: "web1.quantix.local.", qtype: dns.TypeA, aa: true,
			answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5"}},
		{name: "AAAA", qname: "web1.quantix.local.", qtype: dns.TypeAAAA, aa: true,
			answer: []string{"web1.quantix.local. 1 IN AAAA fd00::5"}},
		{name: "ANY", qname: "web1.quantix.local.", qtype: dns.TypeANY, aa: true,
			answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5", "web1.quantix.local. 1 IN AAAA fd00::5"}},
		{name: "case is kept as asked", qname: "WeB1.Quantix.LOCAL.", qtype: dns.TypeA, aa: true,
			answer: []string{"WeB1.Quantix.LOCAL. 1 IN A 10.0.0.5"}},
		{name: "TCP", qname: "v6only.quantix.local.", qtype: dns.TypeAAAA, tcp: true, aa: true,
			answer: []string{"v6only.quantix.local. 1 IN AAAA fd00::7"}},
		{name: "NODATA AAAA of a v4 host", qname: "db.quantix.local.", qtype: dns.TypeAAAA, aa: true,
			soa: "quantix.local."},
		{name: "NODATA A of a v6 host", qname: "v6only.quantix.local.", qtype: dns.TypeA, aa: true,
			soa: "quantix.local."},
		{name: "NODATA TXT", qname: "web1.quantix.local.", qtype: dns.TypeTXT, aa: true, soa: "quantix.local."},
		{name: "NXDOMAIN unknown host", qname: "nope.quantix.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError,
			aa: true, soa: "quantix.local."},
		{name: "NXDOMAIN deeper name", qname: "a.web1.quantix.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError,
			aa: true, soa: "quantix.local."},
		{name: "apex SOA", qname: "quantix.local.", qtype: dns.TypeSOA, aa: true,
			answer: []string{"quantix.local. 1 IN SOA ns.quantix.local. hostmaster.quantix.local. 1 3600 600 86400 1"}},
		{name: "apex NS", qname: "quantix.local.", qtype: dns.TypeNS, aa: true,
			answer: []string{"quantix.local. 1 IN NS ns.quantix.local."}},
		{name: "apex A is NODATA", qname: "quantix.local.", qtype: dns.TypeA, aa: true, soa: "quantix.local."},
		{name: "PTR v4", qname: "5.0.0.10.in-addr.arpa.", qtype: dns.TypePTR, aa: true,
			answer: []string{"5.0.0.10.in-addr.arpa. 1 IN PTR web1.quantix.local."}},
		{name: "PTR v6", qname: ptr6("fd00::5"), qtype: dns.TypePTR, aa: true,
			answer: []string{ptr6("fd00::5") + " 1 IN PTR web1.quantix.local."}},
		{name: "PTR of an unassigned v4 address", qname: "99.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev4},
		{name: "PTR of an unassigned v6 address", qname: ptr6("fd00::99"), qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev6},
		{name: "A of a reverse name is NODATA", qname: "5.0.0.10.in-addr.arpa.", qtype: dns.TypeA, aa: true, soa: rev4},
		{name: "malformed reverse name in a subnet", qname: "x.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev4},
		{name: "leading zero is malformed", qname: "05.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev4},
		{name: "deeper reverse name in a subnet", qname: "1.5.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, aa: true, soa: rev4},
		{name: "partial reverse name above hosts", qname: rev4, qtype: dns.TypePTR, aa: true, soa: rev4},
		{name: "foreign name without upstream", qname: "example.com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "foreign reverse name without upstream", qname: "8.8.8.8.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeRefused},
		{name: "reverse zone above the subnet is foreign", qname: "0.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeRefused},
		{name: "AXFR is refused", qname: "web1.quantix.local.", qtype: dns.TypeAXFR, tcp: true,
			rcode: dns.RcodeRefused},
		// EDNS: the same answers with an OPT back (checkReply checks it).
		{name: "EDNS A", qname: "web1.quantix.local.", qtype: dns.TypeA, edns: 4096, aa: true,
			answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5"}},
		{name: "EDNS DO over TCP", qname: "web1.quantix.local.", qtype: dns.TypeA, tcp: true, edns: 1232, do: true,
			aa: true, answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5"}},
		{name: "EDNS NXDOMAIN", qname: "nope.quantix.local.", qtype: dns.TypeA, edns: 512, rcode: dns.RcodeNameError,
			aa: true, soa: "quantix.local."},
		{name: "EDNS REFUSED", qname: "example.com.", qtype: dns.TypeA, edns: 1232, do: true, rcode: dns.RcodeRefused},
	})
}

func TestTTL(t *testing.T) {
	udp, _ := serve(t, &Resolver{TTL: 30}, static(testRecords()))
	resp := exchange(t, "udp", udp, query("web1.quantix.local.", dns.TypeA, 0, false))
	if len(resp.Answer) != 1 || resp.Answer[0].Header().Ttl != 30 {
		t.Errorf("answer %v, want one record with TTL 30", resp.Answer)
	}
	resp = exchange(t, "udp", udp, query("nope.quantix.local.", dns.TypeA, 0, false))
	if soa, ok := firstSOA(resp); !ok || soa.Hdr.Ttl != 5 || soa.Minttl != 5 {
		t.Errorf("authority %v, want an SOA with TTLs capped at 5", resp.Ns)
	}
}

func TestNilRecords(t *testing.T) {
	udp, _ := serve(t, &Resolver{}, static(nil))
	resp := exchange(t, "udp", udp, query("web1.quantix.local.", dns.TypeA, 0, false))
	if resp.Rcode != dns.RcodeRefused {
		t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
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

func TestTruncation(t *testing.T) {
	udp, tcp := serve(t, &Resolver{}, static(testRecords()))
	cases := []struct {
		name  string
		tcp   bool
		edns  uint16
		limit int // most bytes the reply may take; 0: complete, no TC
	}{
		{name: "UDP with EDNS 512", edns: 512, limit: 512},
		{name: "UDP without EDNS", limit: 512},
		{name: "UDP with EDNS 4096 is capped", edns: 4096, limit: EDNSSize},
		{name: "TCP with EDNS 512", tcp: true, edns: 512},
		{name: "TCP without EDNS", tcp: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := query("many.quantix.local.", dns.TypeAAAA, tc.edns, false)
			network, addr := "udp", udp
			if tc.tcp {
				network, addr = "tcp", tcp
			}
			resp := exchange(t, network, addr, req)
			checkReply(t, req, resp)
			if resp.Rcode != dns.RcodeSuccess {
				t.Errorf("rcode %s, want NOERROR", dns.RcodeToString[resp.Rcode])
			}
			if tc.limit == 0 {
				if resp.Truncated || len(resp.Answer) != 60 {
					t.Errorf("TC %v with %d answers, want all 60", resp.Truncated, len(resp.Answer))
				}
				return
			}
			resp.Compress = true
			if !resp.Truncated || len(resp.Answer) == 0 || len(resp.Answer) >= 60 || resp.Len() > tc.limit {
				t.Errorf("TC %v with %d answers in %d bytes, want TC and some answers in at most %d",
					resp.Truncated, len(resp.Answer), resp.Len(), tc.limit)
			}
		})
	}
}

func TestRecordsChange(t *testing.T) {
	var cur atomic.Pointer[Records]
	cur.Store(testRecords())
	udp, _ := serve(t, &Resolver{}, cur.Load)

	resp := exchange(t, "udp", udp, query("web1.quantix.local.", dns.TypeA, 0, false))
	if got := rrs(resp.Answer); !slices.Equal(got, []string{"web1.quantix.local. 1 IN A 10.0.0.5"}) {
		t.Fatalf("before: %q", got)
	}
	next := testRecords()
	next.Hosts["web2"] = []netip.Addr{netip.MustParseAddr("10.0.0.50")}
	delete(next.Hosts, "web1")
	cur.Store(next)
	resp = exchange(t, "udp", udp, query("web2.quantix.local.", dns.TypeA, 0, false))
	if got := rrs(resp.Answer); !slices.Equal(got, []string{"web2.quantix.local. 1 IN A 10.0.0.50"}) {
		t.Errorf("after, new name: %q", got)
	}
	resp = exchange(t, "udp", udp, query("web1.quantix.local.", dns.TypeA, 0, false))
	if resp.Rcode != dns.RcodeNameError {
		t.Errorf("after, old name: rcode %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	resp = exchange(t, "udp", udp, query("50.0.0.10.in-addr.arpa.", dns.TypePTR, 0, false))
	if got := rrs(resp.Answer); !slices.Equal(got, []string{"50.0.0.10.in-addr.arpa. 1 IN PTR web2.quantix.local."}) {
		t.Errorf("after, PTR: %q", got)
	}
}

func TestMalformedQueries(t *testing.T) {
	udp, tcp := serve(t, &Resolver{}, static(testRecords()))
	withEDNS := func(m *dns.Msg) *dns.Msg { m.SetEdns0(1232, true); return m }
	noQuestion := func() *dns.Msg { m := new(dns.Msg); m.Id = dns.Id(); return m }
	twoQuestions := func() *dns.Msg {
		m := query("web1.quantix.local.", dns.TypeA, 0, false)
		m.Question = append(m.Question, dns.Question{Name: "db.quantix.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
		return m
	}
	opcode := func(op int) func() *dns.Msg {
		return func() *dns.Msg { m := query("quantix.local.", dns.TypeSOA, 0, false); m.Opcode = op; return m }
	}
	cases := []struct {
		name  string
		msg   func() *dns.Msg
		tcp   bool
		rcode int
	}{
		{name: "no question", msg: noQuestion, rcode: dns.RcodeFormatError},
		{name: "no question, EDNS", msg: func() *dns.Msg { return withEDNS(noQuestion()) }, rcode: dns.RcodeFormatError},
		{name: "two questions", msg: twoQuestions, rcode: dns.RcodeFormatError},
		{name: "two questions over TCP", msg: twoQuestions, tcp: true, rcode: dns.RcodeFormatError},
		{name: "opcode STATUS", msg: opcode(dns.OpcodeStatus), rcode: dns.RcodeNotImplemented},
		{name: "opcode UPDATE, EDNS", msg: func() *dns.Msg { return withEDNS(opcode(dns.OpcodeUpdate)()) },
			rcode: dns.RcodeNotImplemented},
		{name: "opcode NOTIFY over TCP", msg: opcode(dns.OpcodeNotify), tcp: true, rcode: dns.RcodeNotImplemented},
		{name: "EDNS version 1", msg: func() *dns.Msg {
			m := withEDNS(query("web1.quantix.local.", dns.TypeA, 0, false))
			m.IsEdns0().SetVersion(1)
			return m
		}, rcode: dns.RcodeBadVers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.msg()
			network, addr := "udp", udp
			if tc.tcp {
				network, addr = "tcp", tcp
			}
			resp := exchange(t, network, addr, req)
			if resp.Id != req.Id || !resp.Response {
				t.Errorf("id %d response %v, want id %d and a response", resp.Id, resp.Response, req.Id)
			}
			if (req.IsEdns0() != nil) != (resp.IsEdns0() != nil) {
				t.Errorf("OPT in query %v, in reply %v", req.IsEdns0() != nil, resp.IsEdns0() != nil)
			}
			if resp.Rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
			}
			if len(resp.Answer) != 0 {
				t.Errorf("answer %v, want none", resp.Answer)
			}
		})
	}
}

func TestServeStops(t *testing.T) {
	listen := func(t *testing.T) (net.PacketConn, net.Listener) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close(); l.Close() })
		return pc, l
	}
	cases := []struct {
		name string
		udp  bool // serve UDP
		tcp  bool // serve TCP
		// stop stops Serve, given its cancel and sockets.
		stop func(cancel context.CancelFunc, pc net.PacketConn, l net.Listener)
	}{
		{name: "cancel", udp: true, tcp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
		{name: "cancel, UDP only", udp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
		{name: "cancel, TCP only", tcp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
		{name: "sockets closed", udp: true, tcp: true, stop: func(_ context.CancelFunc, pc net.PacketConn, l net.Listener) {
			pc.Close()
			l.Close()
		}},
		{name: "UDP socket closed stops TCP too", udp: true, tcp: true, stop: func(_ context.CancelFunc, pc net.PacketConn, _ net.Listener) {
			pc.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc, l := listen(t)
			var spc net.PacketConn
			var sl net.Listener
			if tc.udp {
				spc = pc
			}
			if tc.tcp {
				sl = l
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- (&Resolver{}).Serve(ctx, "net1", spc, sl, static(testRecords())) }()

			// Serving, with an idle TCP connection open at the stop.
			req := query("web1.quantix.local.", dns.TypeA, 0, false)
			if tc.udp {
				exchange(t, "udp", pc.LocalAddr().String(), req)
			}
			if tc.tcp {
				co, err := (&dns.Client{Net: "tcp"}).Dial(l.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer co.Close()
				if err := co.WriteMsg(req); err != nil {
					t.Fatal(err)
				}
				co.SetReadDeadline(time.Now().Add(clientTimeout))
				if _, err := co.ReadMsg(); err != nil {
					t.Fatal(err)
				}
			}

			tc.stop(cancel, pc, l)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v, want nil", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Serve did not return")
			}
			if tc.udp {
				if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("UDP socket after Serve: %v, want closed", err)
				}
			}
			if tc.tcp {
				if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
					t.Errorf("TCP listener after Serve: %v, want closed", err)
				}
			}
		})
	}
	t.Run("no socket", func(t *testing.T) {
		if err := (&Resolver{}).Serve(context.Background(), "net1", nil, nil, static(nil)); err == nil {
			t.Error("Serve without sockets: nil error")
		}
	})
}
