package ovn

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping is one host port mapping of a container (CNI portMappings):
// the host's HostIP:HostPort (any local address when HostIP is invalid)
// forwarded to the container's ContainerPort, for Protocol (tcp, udp,
// sctp). Validation is daemon/portmap's; this is its row form.
type PortMapping struct {
	HostPort      uint32
	ContainerPort uint32
	Protocol      string
	HostIP        netip.Addr
}

// String is the mapping's external_ids form: "PROTO/HOSTPORT/CONTPORT" or
// "PROTO/HOSTPORT/CONTPORT/HOSTIP".
func (m PortMapping) String() string {
	s := fmt.Sprintf("%s/%d/%d", m.Protocol, m.HostPort, m.ContainerPort)
	if m.HostIP.IsValid() {
		s += "/" + m.HostIP.String()
	}
	return s
}

// FormatPortMappings is the external_ids value of ms ("" for none).
func FormatPortMappings(ms []PortMapping) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return strings.Join(out, ",")
}

// ParsePortMappings parses an external_ids value written by
// FormatPortMappings. Rows are input: malformed entries are skipped.
func ParsePortMappings(s string) []PortMapping {
	var out []PortMapping
	for _, e := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(e), "/")
		if len(f) < 3 || len(f) > 4 || f[0] == "" {
			continue
		}
		hp, err1 := strconv.ParseUint(f[1], 10, 16)
		cp, err2 := strconv.ParseUint(f[2], 10, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		m := PortMapping{HostPort: uint32(hp), ContainerPort: uint32(cp), Protocol: f[0]}
		if len(f) == 4 {
			a, err := netip.ParseAddr(f[3])
			if err != nil {
				continue
			}
			m.HostIP = a
		}
		out = append(out, m)
	}
	return out
}
