package dns

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// serviceRecords is testRecords with two load balancers: web (v4 and v6
// VIPs, listeners 80/tcp and "https" on 443/tcp) and db, whose label is
// also a host's (the service wins).
func serviceRecords() *Records {
	recs := testRecords()
	recs.Services = map[string]Service{
		"web": {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00::100")},
			Ports: []ServicePort{{Name: "80", Proto: "tcp", Port: 80}, {Name: "https", Proto: "tcp", Port: 443}}},
		"db":   {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}, Ports: []ServicePort{{Name: "5432", Proto: "tcp", Port: 5432}}},
		"dns":  {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.102")}, Ports: []ServicePort{{Name: "53", Proto: "udp", Port: 53}}},
		"bare": {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.103")}},
	}
	return recs
}

func TestServiceAnswers(t *testing.T) {
	udp, tcp := serve(t, &Resolver{}, static(serviceRecords()))
	const z = "quantix.local."
	ptr6 := func(a string) string { n, _ := dns.ReverseAddr(a); return n }
	runAnswerCases(t, udp, tcp, []answerCase{
		{name: "A of a service", qname: "web." + z, qtype: dns.TypeA, aa: true,
			answer: []string{"web.quantix.local. 1 IN A 10.0.0.100"}},
		{name: "AAAA of a service", qname: "web." + z, qtype: dns.TypeAAAA, aa: true,
			answer: []string{"web.quantix.local. 1 IN AAAA fd00::100"}},
		{name: "ANY of a service", qname: "web." + z, qtype: dns.TypeANY, aa: true,
			answer: []string{"web.quantix.local. 1 IN A 10.0.0.100", "web.quantix.local. 1 IN AAAA fd00::100"}},
		{name: "case-insensitive, echoed as asked", qname: "WEB.Quantix.Local.", qtype: dns.TypeA, aa: true,
			answer: []string{"WEB.Quantix.Local. 1 IN A 10.0.0.100"}},
		{name: "service without listeners has its A", qname: "bare." + z, qtype: dns.TypeA, aa: true,
			answer: []string{"bare.quantix.local. 1 IN A 10.0.0.103"}},
		{name: "NODATA AAAA of a v4 service", qname: "db." + z, qtype: dns.TypeAAAA, aa: true, soa: z},
		{name: "NODATA SRV at the service name", qname: "web." + z, qtype: dns.TypeSRV, aa: true, soa: z},
		{name: "a service shadows a host of its label", qname: "db." + z, qtype: dns.TypeA, aa: true,
			answer: []string{"db.quantix.local. 1 IN A 10.0.0.101"}},
		{name: "the shadowed host keeps its PTR", qname: "6.0.0.10.in-addr.arpa.", qtype: dns.TypePTR, aa: true,
			answer: []string{"6.0.0.10.in-addr.arpa. 1 IN PTR db.quantix.local."}},
		{name: "PTR of a VIP names its service", qname: "100.0.0.10.in-addr.arpa.", qtype: dns.TypePTR, aa: true,
			answer: []string{"100.0.0.10.in-addr.arpa. 1 IN PTR web.quantix.local."}},
		{name: "PTR of a v6 VIP", qname: ptr6("fd00::100"), qtype: dns.TypePTR, aa: true,
			answer: []string{ptr6("fd00::100") + " 1 IN PTR web.quantix.local."}},
		{name: "PTR of the VIP of a service shadowing a host", qname: "101.0.0.10.in-addr.arpa.", qtype: dns.TypePTR, aa: true,
			answer: []string{"101.0.0.10.in-addr.arpa. 1 IN PTR db.quantix.local."}},
		{name: "A at a VIP's reverse name is NODATA", qname: "100.0.0.10.in-addr.arpa.", qtype: dns.TypeA, aa: true, soa: rev4},
		{name: "SRV by port", qname: "_80._tcp.web." + z, qtype: dns.TypeSRV, aa: true,
			answer: []string{"_80._tcp.web.quantix.local. 1 IN SRV 0 0 80 web.quantix.local."}},
		{name: "SRV by listener name", qname: "_https._tcp.web." + z, qtype: dns.TypeSRV, aa: true,
			answer: []string{"_https._tcp.web.quantix.local. 1 IN SRV 0 0 443 web.quantix.local."}},
		{name: "SRV case-insensitive", qname: "_HTTPS._TCP.Web.QUANTIX.local.", qtype: dns.TypeSRV, aa: true,
			answer: []string{"_HTTPS._TCP.Web.QUANTIX.local. 1 IN SRV 0 0 443 web.quantix.local."}},
		{name: "SRV over TCP", qname: "_5432._tcp.db." + z, qtype: dns.TypeSRV, tcp: true, aa: true,
			answer: []string{"_5432._tcp.db.quantix.local. 1 IN SRV 0 0 5432 db.quantix.local."}},
		{name: "SRV of a udp listener", qname: "_53._udp.dns." + z, qtype: dns.TypeSRV, aa: true,
			answer: []string{"_53._udp.dns.quantix.local. 1 IN SRV 0 0 53 dns.quantix.local."}},
		{name: "ANY at a listener is its SRV", qname: "_80._tcp.web." + z, qtype: dns.TypeANY, aa: true,
			answer: []string{"_80._tcp.web.quantix.local. 1 IN SRV 0 0 80 web.quantix.local."}},
		{name: "A at a listener is NODATA", qname: "_80._tcp.web." + z, qtype: dns.TypeA, aa: true, soa: z},
		{name: "NXDOMAIN unknown listener", qname: "_8080._tcp.web." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "NXDOMAIN wrong protocol", qname: "_80._udp.web." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "NXDOMAIN listener of a service without listeners", qname: "_80._tcp.bare." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "the protocol name is an empty non-terminal", qname: "_tcp.web." + z, qtype: dns.TypeSRV, aa: true, soa: z},
		{name: "NXDOMAIN unknown protocol name", qname: "_sctp.web." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "NXDOMAIN deeper than a listener", qname: "x._80._tcp.web." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "NXDOMAIN listener of a host", qname: "_80._tcp.web1." + z, qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, aa: true, soa: z},
		{name: "hosts still answer", qname: "web1." + z, qtype: dns.TypeA, aa: true,
			answer: []string{"web1.quantix.local. 1 IN A 10.0.0.5"}},
	})
}

// TestServiceSRVAdditional: an SRV answer carries its target's addresses.
func TestServiceSRVAdditional(t *testing.T) {
	udp, tcp := serve(t, &Resolver{}, static(serviceRecords()))
	for _, overTCP := range []bool{false, true} {
		req := query("_https._tcp.web.quantix.local.", dns.TypeSRV, 0, false)
		resp := ask(t, udp, tcp, overTCP, req)
		want := []string{"web.quantix.local. 1 IN A 10.0.0.100", "web.quantix.local. 1 IN AAAA fd00::100"}
		if got := rrs(resp.Extra); !slices.Equal(got, want) {
			t.Errorf("tcp=%v: additional %q, want %q", overTCP, got, want)
		}
	}
}

func TestPortName(t *testing.T) {
	if got := PortName("", 8080); got != "8080" {
		t.Errorf("PortName(\"\", 8080) = %q", got)
	}
	if got := PortName("http", 8080); got != "http" {
		t.Errorf("PortName(http, 8080) = %q", got)
	}
}
