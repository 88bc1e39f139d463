package portmap

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

// Protocols are the protocols a host port can be mapped for.
var Protocols = []string{"tcp", "udp", "sctp"}

// Normalize validates the mappings of one request and returns them with
// defaults applied (protocol tcp, lower case). Errors are errs.Invalid and
// name the mapping and its field.
func Normalize(in []ovn.PortMapping) ([]ovn.PortMapping, error) {
	out := make([]ovn.PortMapping, 0, len(in))
	for i, m := range in {
		where := fmt.Sprintf("portMappings[%d]", i)
		if m.HostPort < 1 || m.HostPort > 65535 {
			return nil, fmt.Errorf("%w: %s.hostPort: %d is not a port number (1-65535)", errs.Invalid, where, m.HostPort)
		}
		if m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return nil, fmt.Errorf("%w: %s.containerPort: %d is not a port number (1-65535)", errs.Invalid, where, m.ContainerPort)
		}
		m.Protocol = strings.ToLower(strings.TrimSpace(m.Protocol))
		if m.Protocol == "" {
			m.Protocol = "tcp"
		}
		if !validProto(m.Protocol) {
			return nil, fmt.Errorf("%w: %s.protocol: %q is not one of tcp, udp, sctp", errs.Invalid, where, m.Protocol)
		}
		if m.HostIP.IsValid() {
			m.HostIP = m.HostIP.Unmap()
			if m.HostIP.IsUnspecified() {
				m.HostIP = netip.Addr{} // 0.0.0.0 / :: mean any address of the family
			}
		}
		for j, o := range out {
			if Overlap(m, o) {
				return nil, fmt.Errorf("%w: %s: host port %s is also mapped by portMappings[%d]", errs.Invalid, where, Describe(m), j)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseHostIP parses the hostIP field of a mapping ("" is none).
func ParseHostIP(i int, s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: portMappings[%d].hostIP: %q is not an IP address", errs.Invalid, i, s)
	}
	return a, nil
}

func validProto(p string) bool {
	for _, q := range Protocols {
		if p == q {
			return true
		}
	}
	return false
}

// Overlap reports whether two mappings claim the same host port: same
// protocol and port, and host addresses that can be the same (equal, or
// either one any address).
func Overlap(a, b ovn.PortMapping) bool {
	if a.Protocol != b.Protocol || a.HostPort != b.HostPort {
		return false
	}
	if !a.HostIP.IsValid() || !b.HostIP.IsValid() {
		return true
	}
	return a.HostIP == b.HostIP
}

// Describe names a mapping's host side: "tcp 8080" or "udp 10.0.0.1:53".
func Describe(m ovn.PortMapping) string {
	if m.HostIP.IsValid() {
		return fmt.Sprintf("%s %s", m.Protocol, netip.AddrPortFrom(m.HostIP, uint16(m.HostPort)))
	}
	return fmt.Sprintf("%s %d", m.Protocol, m.HostPort)
}
