package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/quantumnet/quantumnet/test/harness"
)

// lookup asks server (port 53) for name's qtype from the client's
// namespace, with EDNS (as the measured queries: plain queries for the
// network's names are answered by OVN native DNS on the way), and returns
// the first answer's data: an A's address, a PTR's target.
func (b *bench) lookup(server, name string, qtype uint16) (string, error) {
	return b.ask(server, name, qtype, true)
}

// ask is lookup, with or without EDNS.
func (b *bench) ask(server, name string, qtype uint16, edns bool) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	var resp *dns.Msg
	err := harness.InNS(harness.NsPath(b.client), func() error {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		var err error
		for range 3 { // a datagram lost on a loaded machine is not a wrong answer
			if resp, _, err = c.Exchange(m, net.JoinHostPort(server, "53")); err == nil {
				break
			}
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if resp.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[resp.Rcode])
	}
	for _, rr := range resp.Answer {
		switch r := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				return r.A.String(), nil
			}
		case *dns.PTR:
			if qtype == dns.TypePTR {
				return r.Ptr, nil
			}
		}
	}
	return "", fmt.Errorf("%s %s: no answer of that type", name, dns.TypeToString[qtype])
}

// verify checks a sample of answers of both contenders: A of ports (their
// address), PTR of their addresses (their name) and forwarded names (the
// upstream's address).
func (b *bench) verify() error {
	var errs []error
	check := func(server, name string, qtype uint16, want string) {
		got, err := b.lookup(server, name, qtype)
		if err == nil && got != want {
			err = fmt.Errorf("%s %s: %s, want %s", name, dns.TypeToString[qtype], got, want)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.contender(server), err))
		}
	}
	step := max(len(b.ports)/20, 1)
	checked := 0
	for _, server := range []string{b.resolver, b.dmqIP} {
		for i := 0; i < len(b.ports); i += step {
			p := b.ports[i]
			rev, _ := dns.ReverseAddr(p.IP.String())
			check(server, p.Name+"."+domain+".", dns.TypeA, p.IP.String())
			check(server, rev, dns.TypePTR, p.Name+"."+domain+".")
			checked += 2
		}
		for i := 0; i < *flagFwd; i += max(*flagFwd/10, 1) {
			check(server, fmt.Sprintf("f%d.%s.", i, fwdZone), dns.TypeA, fwdAddr(i).String())
			checked++
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d answers wrong: %w", len(errs), checked, errors.Join(errs...))
	}
	logf("answers: %d checked, all right (A = the port's address, PTR = its name, forwarded = the upstream's)", checked)
	return nil
}

// contender names the server at addr.
func (b *bench) contender(addr string) string {
	if addr == b.resolver {
		return "quantumnet"
	}
	return "dnsmasq"
}

// ovnNative reports whether a plain query for a port's name sent to the
// gateway's address, where no DNS server listens, is answered right: OVN
// native DNS (ovn-controller) answers plain queries for the network's
// names on the way, whatever their destination.
func (b *bench) ovnNative() bool {
	gw := netip.MustParsePrefix(subnet4).Masked().Addr().Next()
	p := b.ports[0]
	got, err := b.ask(gw.String(), p.Name+"."+domain+".", dns.TypeA, false)
	logf("plain query for %s.%s to the gateway %s (no DNS server there): %q %v", p.Name, domain, gw, got, err)
	return err == nil && got == p.IP.String()
}
