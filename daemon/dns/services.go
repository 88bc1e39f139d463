package dns

import (
	"net/netip"
	"strconv"

	"github.com/miekg/dns"
)

// Service names: a load balancer of the network is a service, named
// <label>.<domain> like a host.
//
//   - <label>.<domain>. answers A and AAAA with the service's addresses (its
//     VIPs); ANY answers both. A service's label shadows a host of the same
//     label: the load balancer is what the name means (the host keeps its
//     PTR, and its own name when it is renamed or the service is deleted).
//   - The reverse name of a VIP answers PTR <label>.<domain>. (the VIP is an
//     IPAM reservation of the load balancer's: no host has it).
//   - _<port>._<proto>.<label>.<domain>. answers SRV (and ANY) for each
//     listener: priority 0, weight 0, the listener's port, target
//     <label>.<domain>., whose A and AAAA records go in the additional
//     section. <port> is the listener's name, or its port number as text.
//     Another type is NODATA; an unknown listener or protocol is NXDOMAIN.
//   - _<proto>.<label>.<domain>. is NODATA when a listener has that
//     protocol (an empty non-terminal), else NXDOMAIN; deeper names are
//     NXDOMAIN.

// Service is one load balancer of a network, as its resolver answers it.
type Service struct {
	Addrs []netip.Addr  // the VIPs
	Ports []ServicePort // the listeners
}

// ServicePort is one listener of a service.
type ServicePort struct {
	Name  string // lower case: the listener's name, or its port number as text
	Proto string // lower case: "tcp", "udp" or "sctp"
	Port  uint16
}

// PortName is the SRV label of a listener: its name, else its port.
func PortName(name string, port uint16) string {
	if name != "" {
		return name
	}
	return strconv.Itoa(int(port))
}

// addrRRs are the A (v4) and AAAA (v6) records of addrs at name that a
// query of qtype asks for.
func addrRRs(name string, qtype uint16, addrs []netip.Addr, ttl uint32) []dns.RR {
	var out []dns.RR
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: ttl}
		switch {
		case a.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeA
			out = append(out, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case a.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeAAAA
			out = append(out, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	return out
}

// serviceAnswer answers q for the names under the service svc, labelled
// label; rel are the query's labels below the zone (the last is label).
func (r *Resolver) serviceAnswer(z zone, resp *dns.Msg, q dns.Question, rel []string, label string, svc Service) *dns.Msg {
	ttl := r.ttl()
	negative := func(code int) *dns.Msg {
		resp.Rcode = code
		resp.Ns = []dns.RR{z.soa(z.name, ttl)}
		return resp
	}
	target := label + "." + z.name
	switch len(rel) {
	case 1:
		resp.Answer = addrRRs(q.Name, q.Qtype, svc.Addrs, ttl)
	case 2:
		for _, p := range svc.Ports {
			if rel[0] == "_"+p.Proto {
				return negative(dns.RcodeSuccess)
			}
		}
		return negative(dns.RcodeNameError)
	case 3:
		found := false
		for _, p := range svc.Ports {
			if rel[0] != "_"+p.Name || rel[1] != "_"+p.Proto {
				continue
			}
			found = true
			if q.Qtype == dns.TypeSRV || q.Qtype == dns.TypeANY {
				resp.Answer = append(resp.Answer, &dns.SRV{
					Hdr:  dns.RR_Header{Name: q.Name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: ttl},
					Port: p.Port, Target: target,
				})
			}
		}
		if !found {
			return negative(dns.RcodeNameError)
		}
		if len(resp.Answer) > 0 {
			resp.Extra = addrRRs(target, dns.TypeANY, svc.Addrs, ttl)
		}
	default:
		return negative(dns.RcodeNameError)
	}
	if len(resp.Answer) == 0 {
		return negative(dns.RcodeSuccess)
	}
	return resp
}
