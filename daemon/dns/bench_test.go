package dns

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// benchRecords is a network of n named ports (h<i>, 10.1.x.y and
// fd01::x:y), as test/bench/dns makes them.
func benchRecords(n int) *Records {
	recs := &Records{Domain: "dnsb.test", Hosts: map[string][]netip.Addr{},
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd01::/64")}}
	for i := range n {
		recs.Hosts[fmt.Sprintf("h%d", i)] = []netip.Addr{netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}),
			netip.AddrFrom16([16]byte{0: 0xfd, 1: 1, 13: byte(i >> 8), 15: byte(i)})}
	}
	return recs
}

// BenchmarkReply is the resolver's own work for one query of a network
// with 200 hosts: the answer, the OPT and truncation, and packing it (what
// a query costs besides the sockets). go test -bench Reply -benchmem
// -cpuprofile shows where it goes.
func BenchmarkReply(b *testing.B) {
	recs := benchRecords(200)
	r := &Resolver{}
	rev, _ := dns.ReverseAddr("10.1.0.150")
	for _, c := range []struct {
		name  string
		qname string
		qtype uint16
	}{{"A", "h150.dnsb.test.", dns.TypeA}, {"PTR", rev, dns.TypePTR}, {"NXDOMAIN", "nope.dnsb.test.", dns.TypeA}} {
		b.Run(c.name, func(b *testing.B) {
			req := query(c.qname, c.qtype, 1232, false)
			buf := make([]byte, 0, 1232)
			b.ReportAllocs()
			for b.Loop() {
				resp := r.reply("n", static(recs), req, nil)
				finish(resp, req, true)
				if _, err := resp.PackBuffer(buf); err != nil || resp.Rcode != dns.RcodeSuccess && c.name != "NXDOMAIN" {
					b.Fatalf("%v %v", err, resp)
				}
			}
		})
	}
}

// BenchmarkServeUDP is one query at a time over loopback UDP through the
// resolver's server (Serve), as clients reach it: local names and
// forwarded ones (to an upstream in this process).
func BenchmarkServeUDP(b *testing.B) {
	up := upstreamB(b)
	r := &Resolver{Upstream: func(string) []string { return []string{up} }}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(b.Context(), "n", pc, nil, static(benchRecords(200))) }()
	b.Cleanup(func() { pc.Close(); <-done })
	rev, _ := dns.ReverseAddr("10.1.0.150")
	for _, c := range []struct{ name, qname string }{{"A", "h150.dnsb.test."}, {"PTR", rev}, {"forwarded", "example.com."}} {
		b.Run(c.name, func(b *testing.B) {
			qtype := dns.TypeA
			if c.name == "PTR" {
				qtype = dns.TypePTR
			}
			conn, err := dns.Dial("udp", pc.LocalAddr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			req := query(c.qname, qtype, 1232, false)
			for b.Loop() {
				if err := conn.WriteMsg(req); err != nil {
					b.Fatal(err)
				}
				resp, err := conn.ReadMsg()
				if err != nil || resp.Rcode != dns.RcodeSuccess {
					b.Fatalf("%v %v", err, resp)
				}
			}
		})
	}
}

// upstreamB is an upstream server on loopback answering every A query.
func upstreamB(b *testing.B) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(upstreamAnswer)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	b.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
