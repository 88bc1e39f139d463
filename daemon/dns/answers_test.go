package dns

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

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
			resp := ask(t, udp, tcp, tc.tcp, req)
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
