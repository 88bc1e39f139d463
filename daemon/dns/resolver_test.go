package dns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
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
		if !serveReturned(t, done) {
			t.Error("Serve did not return after cancel")
		}
	})
	return pc.LocalAddr().String(), l.Addr().String()
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

// ask sends req to the resolver over UDP (udp's address) or TCP, and
// checks the reply answers it.
func ask(t *testing.T, udp, tcp string, overTCP bool, req *dns.Msg) *dns.Msg {
	t.Helper()
	network, addr := "udp", udp
	if overTCP {
		network, addr = "tcp", tcp
	}
	resp := exchange(t, network, addr, req)
	checkReply(t, req, resp)
	return resp
}

func runAnswerCases(t *testing.T, udp, tcp string, cases []answerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := query(tc.qname, tc.qtype, tc.edns, tc.do)
			resp := ask(t, udp, tcp, tc.tcp, req)
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
