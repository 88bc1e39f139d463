package dns

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseReverse: a parsed reverse name's prefix is within its family,
// and a full one (exactly one address) is what reverseName writes for it.
func FuzzParseReverse(f *testing.F) {
	for _, s := range []string{"5.0.0.10.in-addr.arpa.", "0.10.in-addr.arpa.", "x.5.0.0.10.in-addr.arpa.", "05.0.0.10.in-addr.arpa.",
		"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "F.d.f.ip6.arpa.", "arpa.", "in-addr.arpa.", "256.in-addr.arpa."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rv, ok := parseReverse(name)
		if !ok {
			return
		}
		p := rv.prefix
		if !p.IsValid() || rv.extra < 0 || p.Bits() > p.Addr().BitLen() {
			t.Fatalf("parseReverse(%q) = %+v", name, rv)
		}
		if rv.full() && dns.Fqdn(name) == name && strings.ToLower(name) == name && reverseName(p) != name {
			t.Fatalf("parseReverse(%q) = %s, written back as %q", name, p, reverseName(p))
		}
	})
}

// FuzzReply: any message the resolver can unpack gets a reply that packs,
// fits what the client can receive, and answers the query's ID. Foreign
// names are refused (no upstream), so nothing leaves the process.
func FuzzReply(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
	}{{"web1.quantix.local.", dns.TypeA}, {"many.quantix.local.", dns.TypeAAAA}, {"5.0.0.10.in-addr.arpa.", dns.TypePTR},
		{"quantix.local.", dns.TypeSOA}, {"example.com.", dns.TypeA}, {"0.10.in-addr.arpa.", dns.TypeNS}, {"WEB1.Quantix.Local.", dns.TypeANY},
		{"web.quantix.local.", dns.TypeA}, {"_https._tcp.web.quantix.local.", dns.TypeSRV}, {"_tcp.web.quantix.local.", dns.TypeANY}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		if q.t == dns.TypeAAAA {
			m.SetEdns0(4096, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	r := &Resolver{}
	recs := serviceRecords()
	f.Fuzz(func(t *testing.T, b []byte, udp bool) {
		req := new(dns.Msg)
		if req.Unpack(b) != nil {
			return
		}
		resp := r.reply("blue", static(recs), req, nil)
		finish(resp, req, udp)
		out, err := resp.Pack()
		if err != nil {
			t.Fatalf("reply to %v does not pack: %v\n%v", req.Question, err, resp)
		}
		limit := dns.MaxMsgSize
		if udp {
			limit = EDNSSize
			if req.IsEdns0() == nil {
				limit = dns.MinMsgSize
			}
		}
		if len(out) > limit || resp.Id != req.Id || !resp.Response {
			t.Fatalf("reply: %d bytes (limit %d), id %d for %d, response %v", len(out), limit, resp.Id, req.Id, resp.Response)
		}
	})
}
