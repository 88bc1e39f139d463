// Package trace explains where one packet from a logical port goes: it
// builds the ovn-trace microflow (the port's MACs and addresses, the
// destination's MAC — the gateway's when the destination is off the
// network, else the destination port's), runs ovn-trace against the
// Southbound database the daemon uses, parses its detailed output and maps
// the ACL that decided back to the security group and rule that made it.
package trace

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// NB is what Tracer reads of Northbound.
type NB interface {
	PortByName(name string) (ovn.Port, bool)
	GetSwitch(network string) (*nbdb.LogicalSwitch, error)
	PortsByUUID(uuids []string) ([]nbdb.LogicalSwitchPort, error)
	GetRouterPort(name string) *nbdb.LogicalRouterPort
	ACLs(key string) ([]*nbdb.ACL, error)
	WaitSB(ctx context.Context) error // Southbound caught up with Northbound
}

var _ NB = (*ovn.NB)(nil)

// Tracer runs traces.
type Tracer struct {
	NB NB
	// SBRemotes, and the TLS files for ssl: remotes, are the Southbound
	// database ovn-trace reads (the daemon's own).
	SBRemotes              []string
	SSLKey, SSLCert, SSLCA string
	// Binary is ovn-trace's path ("": ovn-trace from PATH).
	Binary string
}

// Request is one packet.
type Request struct {
	Port        string // source logical port
	Destination string // address
	Protocol    string // icmp (default), tcp, udp
	DPort       uint32 // tcp/udp
	Source      string // optional: which of the port's addresses
}

// Packet is a resolved request: everything the microflow names.
type Packet struct {
	InPort         string
	SrcMAC, DstMAC string
	Src, Dst       netip.Addr
	Protocol       string
	DPort          uint32
}

// Trace resolves req against Northbound, runs ovn-trace and explains it.
func (t *Tracer) Trace(ctx context.Context, req Request) (*Result, error) {
	pkt, err := t.Resolve(req)
	if err != nil {
		return nil, err
	}
	// Trace what Northbound says now: ovn-trace reads Southbound, which
	// ovn-northd brings up to date a moment after each change.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = t.NB.WaitSB(wctx)
	cancel()
	if err != nil {
		return nil, errs.New(errs.Unavailable, err.Error())
	}
	raw, err := t.run(ctx, pkt.Microflow())
	if err != nil {
		return nil, err
	}
	res := Parse(raw)
	acls, err := t.NB.ACLs(keys.SG)
	if err != nil {
		return nil, err
	}
	t.Explain(res, acls)
	return res, nil
}

// Resolve checks req and finds the packet's addresses in Northbound.
func (t *Tracer) Resolve(req Request) (Packet, error) {
	pkt := Packet{InPort: req.Port, Protocol: strings.ToLower(req.Protocol), DPort: req.DPort}
	if pkt.Protocol == "" {
		pkt.Protocol = "icmp"
	}
	switch pkt.Protocol {
	case "icmp":
		if req.DPort != 0 {
			return pkt, errs.New(errs.Invalid, "dport: icmp has no port")
		}
	case "tcp", "udp":
		if req.DPort == 0 || req.DPort > 65535 {
			return pkt, errs.New(errs.Invalid, fmt.Sprintf("dport: %s needs a port 1-65535, not %d", pkt.Protocol, req.DPort))
		}
	default:
		return pkt, errs.New(errs.Invalid, fmt.Sprintf("protocol: %q is not icmp, tcp or udp", req.Protocol))
	}
	dst, err := netip.ParseAddr(req.Destination)
	if err != nil || dst.Zone() != "" {
		return pkt, errs.New(errs.Invalid, fmt.Sprintf("destination: %q is not an IP address", req.Destination))
	}
	pkt.Dst = dst.Unmap()
	if req.Port == "" {
		return pkt, errs.New(errs.Invalid, "port: a source logical port is required")
	}
	src, ok := t.NB.PortByName(req.Port)
	if !ok || !src.Managed() {
		return pkt, errs.New(errs.NotFound, fmt.Sprintf("port: no QuantumNet port %q", req.Port))
	}
	if src.MAC == nil {
		return pkt, errs.New(errs.Invalid, fmt.Sprintf("port: %s has no MAC address", req.Port))
	}
	pkt.SrcMAC = src.MAC.String()
	if pkt.Src, err = sourceAddr(src, pkt.Dst, req.Source); err != nil {
		return pkt, err
	}
	pkt.DstMAC, err = t.dstMAC(src.Network, pkt.Dst)
	return pkt, err
}

// sourceAddr is the port's address of dst's family (the one named, if any).
func sourceAddr(p ovn.Port, dst netip.Addr, want string) (netip.Addr, error) {
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !slices.Contains(p.IPs, a.Unmap()) {
			return netip.Addr{}, errs.New(errs.Invalid, fmt.Sprintf("source: %q is not an address of port %s", want, p.Name))
		}
		if a.Unmap().Is4() != dst.Is4() {
			return netip.Addr{}, errs.New(errs.Invalid, "source: not of the destination's address family")
		}
		return a.Unmap(), nil
	}
	for _, a := range p.IPs {
		if a.Is4() == dst.Is4() && !a.IsLinkLocalUnicast() {
			return a, nil
		}
	}
	return netip.Addr{}, errs.New(errs.Invalid, fmt.Sprintf("destination: port %s has no address of %s's family", p.Name, dst))
}

// dstMAC is the Ethernet destination of a packet to dst from network: the
// port on the network that has dst, else the network's router port (the
// gateway) when there is one.
func (t *Tracer) dstMAC(network string, dst netip.Addr) (string, error) {
	ls, err := t.NB.GetSwitch(network)
	if err != nil {
		return "", err
	}
	ports, err := t.NB.PortsByUUID(ls.Ports)
	if err != nil {
		return "", err
	}
	gw := ""
	for i := range ports {
		lsp := &ports[i]
		if lsp.Type == "router" {
			if lrp := t.NB.GetRouterPort(lsp.Options["router-port"]); lrp != nil && gw == "" {
				gw = lrp.MAC
				if routerHas(lrp, dst) {
					return gw, nil
				}
			}
			continue
		}
		if mac, ips := ovn.ParseAddresses(lsp.Addresses); mac != nil && slices.Contains(ips, dst) {
			return mac.String(), nil
		}
	}
	if gw == "" {
		return "", errs.New(errs.Invalid, fmt.Sprintf("destination: %s is on no port of network %s, which has no gateway", dst, network))
	}
	return gw, nil
}

func routerHas(lrp *nbdb.LogicalRouterPort, a netip.Addr) bool {
	for _, n := range lrp.Networks {
		if p, err := netip.ParsePrefix(n); err == nil && p.Addr() == a {
			return true
		}
	}
	return false
}

// Microflow is the packet in ovn-trace's syntax.
func (p Packet) Microflow() string {
	ip, icmp, echo := "ip4", "icmp4", "8"
	if p.Dst.Is6() {
		ip, icmp, echo = "ip6", "icmp6", "128"
	}
	m := []string{
		fmt.Sprintf("inport == %q", p.InPort),
		"eth.src == " + p.SrcMAC, "eth.dst == " + p.DstMAC,
		ip + ".src == " + p.Src.String(), ip + ".dst == " + p.Dst.String(), "ip.ttl == 64",
	}
	switch p.Protocol {
	case "tcp", "udp":
		m = append(m, p.Protocol, fmt.Sprintf("%s.src == 40000", p.Protocol), fmt.Sprintf("%s.dst == %d", p.Protocol, p.DPort))
		if p.Protocol == "tcp" {
			m = append(m, "tcp.flags == 0x002") // SYN: a new connection
		}
	default:
		m = append(m, icmp, icmp+".type == "+echo, icmp+".code == 0")
	}
	return strings.Join(m, " && ")
}

// Args are ovn-trace's arguments for microflow.
func (t *Tracer) Args(microflow string) []string {
	// A new connection: every ct_next sees ct.new (ovn-trace's default is
	// an established one, which no ACL decides).
	args := []string{"--detailed"}
	for range 12 {
		args = append(args, "--ct=new,trk")
	}
	if len(t.SBRemotes) > 0 {
		args = append(args, "--db="+strings.Join(t.SBRemotes, ","))
	}
	if t.SSLKey != "" {
		args = append(args, "--private-key="+t.SSLKey, "--certificate="+t.SSLCert, "--ca-cert="+t.SSLCA)
	}
	return append(args, microflow)
}

func (t *Tracer) run(ctx context.Context, microflow string) (string, error) {
	bin := t.Binary
	if bin == "" {
		bin = "ovn-trace"
	}
	// ovn-trace waits for its database: never longer than this.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, t.Args(microflow)...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return "", errs.New(errs.Unavailable, fmt.Sprintf("ovn-trace: %v (Debian: ovn-common)", err))
		}
		return "", errs.New(errs.Unavailable, fmt.Sprintf("ovn-trace %s: %v: %s", microflow, err, strings.TrimSpace(stderr.String())))
	}
	return out.String(), nil
}
