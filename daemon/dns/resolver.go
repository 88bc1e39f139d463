// Package dns is the per-network resolver of QuantumNet's magic DNS. Every
// port of a network is named <host>.<domain>; the daemon opens a UDP and a
// TCP socket on the network's resolver address (port 53, inside the
// network's namespace) and hands them to Serve with a callback that returns
// the network's current Records. Nothing is cached here: records() is
// called once per query, so renames and new ports show at once (what is
// derived from a Records snapshot, its index, is made once per snapshot).
//
// # Semantics
//
//   - <label>.<domain>. (case-insensitive; the reply echoes the question as
//     asked): A and AAAA answer the host's addresses of that family, ANY
//     answers both, with TTL Resolver.TTL and AA set. A host without an
//     address of the asked family, or another type, is NODATA (NOERROR, no
//     answer, the zone's SOA in the authority section). Unknown labels and
//     deeper names (a.b.<domain>.) are NXDOMAIN with the SOA, whose TTLs
//     are Resolver.TTL but at most 5s (negative answers expire soon).
//   - The apex <domain>. answers SOA and NS (ns.<domain>.); other types are
//     NODATA. For the network's names, AXFR, IXFR and classes other than IN
//     and ANY are REFUSED.
//   - Reverse names (in-addr.arpa., nibble ip6.arpa.): an address of a host
//     answers PTR <label>.<domain>., a load balancer's VIP its service name
//     <name>.<domain>.; an address in one of Records.Subnets
//     that nobody has, and a malformed or deeper reverse name within a
//     subnet, is NXDOMAIN (a partial name above host addresses is NODATA).
//     Reverse names outside the subnets are foreign.
//   - Foreign names are forwarded unchanged (EDNS0 OPT, DO and CD bits kept,
//     a fresh message id) to the network's upstream servers in order: UDP
//     with Resolver.Timeout, again over TCP if the answer is truncated. The
//     first server that answers wins and its answer (rcode and sections) is
//     relayed with the client's id. No upstream: REFUSED; all failed:
//     SERVFAIL.
//   - Load balancers are services: <name>.<domain> (A, AAAA) and
//     _<listener>._<proto>.<name>.<domain> (SRV); see services.go.
//   - A network whose Records are nil or have no Domain has no names of its
//     own: everything is foreign.
//   - Opcodes other than QUERY are NOTIMP; zero or several questions are
//     FORMERR; an EDNS version other than 0 is BADVERS.
//   - A query with an OPT record gets one back (UDP size 1232, its DO bit);
//     a query without gets none; an upstream's OPT is replaced so. UDP
//     replies are truncated (TC set) to the client's EDNS size, capped at
//     1232, or 512 without EDNS.
package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Records is the name data of one network, as its resolver answers it.
// A Records value is a snapshot: the resolver never modifies its fields
// (it keeps an index of its own in it), and the caller must not modify it
// once records() returned it.
type Records struct {
	Domain  string                  // e.g. "quantix.local" (no trailing dot; compare case-insensitively)
	Hosts   map[string][]netip.Addr // host label, lower case (e.g. "web1") -> its addresses (v4 and/or v6)
	Subnets []netip.Prefix          // the network's subnets: reverse names in them are answered here
	// Services: the network's load balancers, by label (lower case; see
	// services.go). A service's label shadows a host's.
	Services map[string]Service

	idx atomic.Pointer[index] // made at the first query (index.go)
}

// Resolver answers DNS queries for networks. Its fields must not change
// once it serves; one Resolver serves any number of networks.
type Resolver struct {
	// Upstream returns the upstream servers ("host:port") of a network, for names
	// that are not the network's; none: such queries are answered REFUSED.
	Upstream func(network string) []string
	Timeout  time.Duration // per upstream exchange; default 2s
	TTL      uint32        // of answers for the network's own names; default 1 (renames show at once)
	Log      *slog.Logger  // nil: discard

	// Bounds per network (per Handler), so that one client cannot exhaust
	// the daemon: at most MaxForwards queries are being forwarded at once
	// (beyond: SERVFAIL at once; default 64), at most MaxTCPConns TCP
	// connections are open (beyond: closed at once; default 32), and a TCP
	// connection without a query for IdleTimeout is closed (default 5s).
	MaxForwards int
	MaxTCPConns int
	IdleTimeout time.Duration

	// Observer, if set, is told of every reply (daemon/metrics).
	Observer Observer

	socks sockets // to upstream servers (upstream.go)
}

// EDNSSize is the UDP payload size the resolver advertises in its OPT
// records and the most it sends over UDP (the DNS flag day 2020 value).
const EDNSSize = 1232

const (
	defaultTimeout = 2 * time.Second
	defaultTTL     = 1
	maxNegativeTTL = 5       // of the SOA, so new names show soon whatever TTL is
	flagQR         = 1 << 15 // the QR bit of a header's Bits
)

// Handler returns the dns.Handler (github.com/miekg/dns) of one network.
// records is called once per query; a nil *Records stands for a network
// without names of its own: every query is then foreign.
func (r *Resolver) Handler(network string, records func() *Records) dns.Handler {
	return r.handler(network, records, make(gate, r.maxForwards()))
}

// handler is Handler with its bound of forwards in flight.
func (r *Resolver) handler(network string, records func() *Records, forwards gate) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := r.reply(network, records, req, forwards)
		if r.Observer != nil {
			r.Observer.DNSReply(network, resp.Rcode)
		}
		finish(resp, req, w.LocalAddr().Network() != "tcp")
		if err := w.WriteMsg(resp); err != nil {
			r.log().Debug("dns reply not sent", "network", network, "client", w.RemoteAddr().String(), "err", err)
		}
	})
}

func (r *Resolver) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Resolver) ttl() uint32 {
	if r.TTL == 0 {
		return defaultTTL
	}
	return r.TTL
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout <= 0 {
		return defaultTimeout
	}
	return r.Timeout
}

// reply computes the answer to req, before EDNS and truncation.
// Forwarding needs a place in forwards (see forward).
func (r *Resolver) reply(network string, records func() *Records, req *dns.Msg, forwards gate) *dns.Msg {
	if resp := r.answer(records, req); resp != nil {
		return resp
	}
	return r.forward(network, req, forwards)
}

// answer is the reply to req that needs no upstream server, or nil: the
// name is foreign (to forward).
func (r *Resolver) answer(records func() *Records, req *dns.Msg) *dns.Msg {
	if req.Opcode != dns.OpcodeQuery {
		return rcode(req, dns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return rcode(req, dns.RcodeFormatError)
	}
	if opt := req.IsEdns0(); opt != nil && opt.Version() != 0 {
		return rcode(req, dns.RcodeBadVers)
	}
	var recs *Records
	if records != nil {
		recs = records()
	}
	if recs == nil {
		recs = noRecords
	}
	return r.local(req, recs)
}

// rcode is an empty reply to req with the given rcode.
func rcode(req *dns.Msg, code int) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetRcode(req, code)
	return resp
}

// finish adds the OPT record the client is owed and fits resp into what
// the client can receive.
func finish(resp, req *dns.Msg, udp bool) {
	// An upstream's OPT is its own business with us: drop it (its extended
	// rcode is already folded into resp.Rcode) and give ours.
	resp.Extra = slices.DeleteFunc(resp.Extra, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT })
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(EDNSSize, opt.Do())
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), EDNSSize)
	} else if resp.Rcode > 0xF {
		resp.Rcode = dns.RcodeServerFailure // cannot be said without EDNS
	}
	if !udp {
		size = dns.MaxMsgSize
	}
	resp.Truncate(size)
	resp.Compress = true // never longer than what Truncate measured
}

// zone is one network's names: its records and its domain, lower case
// and fully qualified.
type zone struct {
	recs *Records
	name string // "quantix.local."
	idx  *index
}

// soa is the SOA of the zone at owner (the domain, or a reverse zone).
func (z zone) soa(owner string, ttl uint32) *dns.SOA {
	ttl = min(ttl, maxNegativeTTL)
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: owner, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      "ns." + z.name,
		Mbox:    "hostmaster." + z.name,
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  ttl,
	}
}

// local answers req if its name is the network's (forward or reverse), or
// returns nil: the name is foreign. AXFR, IXFR and classes other than IN
// are refused for the network's names.
func (r *Resolver) local(req *dns.Msg, recs *Records) *dns.Msg {
	x := recs.index()
	if x.zone == "" {
		return nil
	}
	z := zone{recs: recs, name: x.zone, idx: x}
	q := req.Question[0]
	name := dns.Fqdn(strings.ToLower(q.Name))
	forward := within(z.name, name)
	var rv reverse
	if !forward {
		var ok bool
		if rv, ok = parseReverse(name); !ok || !z.ownsReverse(rv) {
			return nil
		}
	}
	if (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		return rcode(req, dns.RcodeRefused)
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	if forward {
		return r.forwardAnswer(z, resp, q, name)
	}
	return r.reverseAnswer(z, resp, q, rv)
}

// forwardAnswer answers q for name, lower case and within z.
func (r *Resolver) forwardAnswer(z zone, resp *dns.Msg, q dns.Question, name string) *dns.Msg {
	ttl := r.ttl()
	rel := below(name, z.name)
	nodata := func() *dns.Msg {
		resp.Ns = []dns.RR{z.soa(z.name, ttl)}
		return resp
	}
	if len(rel) == 0 { // the apex
		hdr := func(t uint16) dns.RR_Header {
			return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
		}
		if q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY {
			resp.Answer = append(resp.Answer, z.soa(q.Name, ttl))
		}
		if q.Qtype == dns.TypeNS || q.Qtype == dns.TypeANY {
			resp.Answer = append(resp.Answer, &dns.NS{Hdr: hdr(dns.TypeNS), Ns: "ns." + z.name})
		}
		if len(resp.Answer) == 0 {
			return nodata()
		}
		return resp
	}
	if label := rel[len(rel)-1]; len(rel) <= 3 {
		if svc, ok := z.recs.Services[label]; ok { // a service shadows a host (services.go)
			return r.serviceAnswer(z, resp, q, rel, label, svc)
		}
	}
	addrs, ok := z.recs.Hosts[rel[0]]
	if len(rel) > 1 || !ok {
		resp.Rcode = dns.RcodeNameError
		return nodata()
	}
	if resp.Answer = addrRRs(q.Name, q.Qtype, addrs, ttl); len(resp.Answer) == 0 {
		return nodata()
	}
	return resp
}

// reverse is a parsed reverse name: the prefix its valid address labels
// name (counted from the .arpa end), and how many labels are left over
// (invalid ones, or more than an address has).
type reverse struct {
	prefix netip.Prefix
	extra  int
}

// full reports whether the name is exactly one address.
func (rv reverse) full() bool {
	return rv.extra == 0 && rv.prefix.IsSingleIP()
}

// parseReverse parses a lower-case in-addr.arpa. or ip6.arpa. name.
func parseReverse(name string) (reverse, bool) {
	labels := splitName(name)
	if len(labels) < 2 || labels[len(labels)-1] != "arpa" {
		return reverse{}, false
	}
	suffix := labels[len(labels)-2]
	labels = labels[:len(labels)-2]
	var (
		b     [16]byte
		n     int // valid labels, from the end
		bits  int // per label
		limit int // labels in an address
	)
	switch suffix {
	case "in-addr":
		bits, limit = 8, 4
		for ; n < len(labels) && n < limit; n++ {
			l := labels[len(labels)-1-n]
			v, err := strconv.ParseUint(l, 10, 8)
			if err != nil || len(l) > 1 && l[0] == '0' { // not as an address is written (010)
				break
			}
			b[n] = byte(v)
		}
	case "ip6":
		bits, limit = 4, 32
		for ; n < len(labels) && n < limit; n++ {
			l := labels[len(labels)-1-n]
			if len(l) != 1 {
				break
			}
			v, err := strconv.ParseUint(l, 16, 4)
			if err != nil {
				break
			}
			b[n/2] |= byte(v) << (4 * (1 - n%2))
		}
	default:
		return reverse{}, false
	}
	var a netip.Addr
	if limit == 4 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b)
	}
	return reverse{prefix: netip.PrefixFrom(a, n*bits), extra: len(labels) - n}, true
}

// reverseName is the reverse name of p, whose length must be a multiple
// of 8 (v4) or 4 (v6).
func reverseName(p netip.Prefix) string {
	var sb strings.Builder
	b := p.Addr().AsSlice()
	if p.Addr().Is4() {
		for i := p.Bits()/8 - 1; i >= 0; i-- {
			sb.WriteString(strconv.Itoa(int(b[i])))
			sb.WriteByte('.')
		}
		sb.WriteString("in-addr.arpa.")
		return sb.String()
	}
	for i := p.Bits()/4 - 1; i >= 0; i-- {
		sb.WriteString(strconv.FormatUint(uint64(b[i/2]>>(4*(1-i%2))&0xf), 16))
		sb.WriteByte('.')
	}
	sb.WriteString("ip6.arpa.")
	return sb.String()
}

// subnetOf returns the subnet of z that holds all of p.
func (z zone) subnetOf(p netip.Prefix) (netip.Prefix, bool) {
	for _, s := range z.recs.Subnets {
		s = s.Masked()
		if s.IsValid() && s.Addr().Is4() == p.Addr().Is4() && p.Bits() >= s.Bits() && s.Contains(p.Addr()) {
			return s, true
		}
	}
	return netip.Prefix{}, false
}

// owners returns the sorted names (label.zone.) of the hosts that have
// address a (not to be modified).
func (z zone) owners(a netip.Addr) []string { return z.idx.owners[a] }

// ownsReverse reports whether rv is the network's to answer: an address
// of one of its hosts, or a name within one of its subnets.
func (z zone) ownsReverse(rv reverse) bool {
	if _, ok := z.subnetOf(rv.prefix); ok {
		return true
	}
	return rv.full() && len(z.owners(rv.prefix.Addr())) > 0
}

// reverseAnswer answers q for rv, which reverseZone accepted.
func (r *Resolver) reverseAnswer(z zone, resp *dns.Msg, q dns.Question, rv reverse) *dns.Msg {
	ttl := r.ttl()
	// The SOA's owner: the reverse name of the subnet, rounded to whole
	// labels toward the query so that it holds the name asked.
	apex := rv.prefix
	if s, ok := z.subnetOf(rv.prefix); ok {
		step := 8
		if s.Addr().Is6() {
			step = 4
		}
		apex = netip.PrefixFrom(rv.prefix.Addr(), (s.Bits()+step-1)/step*step).Masked()
	}
	negative := func(code int) *dns.Msg {
		resp.Rcode = code
		resp.Ns = []dns.RR{z.soa(reverseName(apex), ttl)}
		return resp
	}
	if !rv.full() {
		if rv.extra == 0 && z.hostsIn(rv.prefix) {
			return negative(dns.RcodeSuccess) // a name above host addresses
		}
		return negative(dns.RcodeNameError)
	}
	owners := z.owners(rv.prefix.Addr())
	if len(owners) == 0 {
		return negative(dns.RcodeNameError)
	}
	if q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY {
		return negative(dns.RcodeSuccess)
	}
	for _, owner := range owners {
		resp.Answer = append(resp.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl},
			Ptr: owner,
		})
	}
	return resp
}

// hostsIn reports whether a host or a service has an address in p.
func (z zone) hostsIn(p netip.Prefix) bool {
	in := func(addrs []netip.Addr) bool {
		return slices.ContainsFunc(addrs, func(h netip.Addr) bool { return p.Contains(h.Unmap().WithZone("")) })
	}
	for _, addrs := range z.recs.Hosts {
		if in(addrs) {
			return true
		}
	}
	for _, svc := range z.recs.Services {
		if in(svc.Addrs) {
			return true
		}
	}
	return false
}

// forward relays req to the network's upstream servers, if it gets a
// place in forwards (nil: no bound); without one the answer is SERVFAIL.
func (r *Resolver) forward(network string, req *dns.Msg, forwards gate) *dns.Msg {
	servers, resp := r.admit(network, req, forwards)
	if resp != nil {
		return resp
	}
	if forwards != nil {
		defer forwards.leave()
	}
	return r.relay(network, req, servers)
}

// admit returns the upstream servers to forward req to, with a place
// taken in forwards (nil: no bound) for the caller to leave; or the
// answer at once: REFUSED without upstream servers, SERVFAIL without a
// place.
func (r *Resolver) admit(network string, req *dns.Msg, forwards gate) ([]string, *dns.Msg) {
	var servers []string
	if r.Upstream != nil {
		servers = r.Upstream(network)
	}
	if len(servers) == 0 {
		return nil, rcode(req, dns.RcodeRefused)
	}
	if forwards != nil && !forwards.enter() {
		r.log().Debug("dns forward refused: too many in flight", "network", network)
		return nil, rcode(req, dns.RcodeServerFailure)
	}
	return servers, nil
}

// relay asks servers in order and returns the first answer, with the id
// of req; none: SERVFAIL.
func (r *Resolver) relay(network string, req *dns.Msg, servers []string) *dns.Msg {
	q := req.Copy()
	q.Id = dns.Id()
	for _, server := range servers {
		resp, err := r.exchange(network, q, server)
		if err != nil {
			r.log().Debug("dns forward failed", "network", network, "server", server,
				"name", q.Question[0].Name, "type", dns.Type(q.Question[0].Qtype).String(), "err", err)
			continue
		}
		resp.Id = req.Id
		return resp
	}
	return rcode(req, dns.RcodeServerFailure)
}

// exchange asks one server: over UDP, then over TCP if the answer is
// truncated. If the TCP retry fails, the truncated answer stands.
func (r *Resolver) exchange(network string, q *dns.Msg, server string) (*dns.Msg, error) {
	resp, err := r.exchangeUDP(q, server)
	if err != nil {
		return nil, err
	}
	if err := checkAnswer(q, resp); err != nil {
		return nil, err
	}
	if !resp.Truncated {
		return resp, nil
	}
	tcp := &dns.Client{Net: "tcp", Timeout: r.timeout()}
	full, _, err := tcp.Exchange(q, server)
	if err == nil {
		err = checkAnswer(q, full)
	}
	if err != nil {
		r.log().Debug("dns forward over tcp failed, relaying the truncated answer", "network", network,
			"server", server, "name", q.Question[0].Name, "err", err)
		return resp, nil
	}
	return full, nil
}

// checkAnswer rejects an answer to another question.
func checkAnswer(q, resp *dns.Msg) error {
	if !resp.Response {
		return errors.New("not a response")
	}
	if len(resp.Question) == 0 { // some servers' FORMERR and NOTIMP
		return nil
	}
	a, b := q.Question[0], resp.Question[0]
	if len(resp.Question) != 1 || !strings.EqualFold(a.Name, b.Name) || a.Qtype != b.Qtype || a.Qclass != b.Qclass {
		return fmt.Errorf("answer to another question: %v", resp.Question)
	}
	return nil
}
