package portmap

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   ovn.PortMapping
		err  string // "" = valid
		want string // the normalized mapping
	}{
		{"default tcp", ovn.PortMapping{HostPort: 8080, ContainerPort: 80}, "", "tcp/8080/80"},
		{"udp upper case", ovn.PortMapping{HostPort: 53, ContainerPort: 53, Protocol: "UDP"}, "", "udp/53/53"},
		{"sctp", ovn.PortMapping{HostPort: 1, ContainerPort: 65535, Protocol: "sctp"}, "", "sctp/1/65535"},
		{"host ip", ovn.PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: netip.MustParseAddr("10.0.0.1")}, "", "tcp/8080/80/10.0.0.1"},
		{"unspecified host ip is any", ovn.PortMapping{HostPort: 8080, ContainerPort: 80, HostIP: netip.MustParseAddr("::")}, "", "tcp/8080/80"},
		{"host port 0", ovn.PortMapping{HostPort: 0, ContainerPort: 80}, "portMappings[0].hostPort: 0", ""},
		{"host port 70000", ovn.PortMapping{HostPort: 70000, ContainerPort: 80}, "portMappings[0].hostPort: 70000", ""},
		{"container port 0", ovn.PortMapping{HostPort: 80, ContainerPort: 0}, "portMappings[0].containerPort: 0", ""},
		{"icmp", ovn.PortMapping{HostPort: 80, ContainerPort: 80, Protocol: "icmp"}, `portMappings[0].protocol: "icmp"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Normalize([]ovn.PortMapping{tc.in})
			if tc.err != "" {
				if err == nil || !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want Invalid containing %q", err, tc.err)
				}
				return
			}
			if err != nil || len(out) != 1 || out[0].String() != tc.want {
				t.Fatalf("got %v, %v; want %s", out, err, tc.want)
			}
		})
	}
}

func TestNormalizeDuplicateInRequest(t *testing.T) {
	_, err := Normalize([]ovn.PortMapping{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 81, Protocol: "tcp", HostIP: netip.MustParseAddr("10.0.0.1")}})
	if !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "portMappings[1]") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Normalize([]ovn.PortMapping{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 80, Protocol: "udp"}}); err != nil {
		t.Fatalf("tcp and udp on one port: %v", err)
	}
}

func TestParseHostIP(t *testing.T) {
	if _, err := ParseHostIP(2, "10.0.0.300"); !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "portMappings[2].hostIP") {
		t.Fatalf("err = %v", err)
	}
	if a, err := ParseHostIP(0, ""); err != nil || a.IsValid() {
		t.Fatalf("empty: %v %v", a, err)
	}
}

func TestOverlap(t *testing.T) {
	a4 := netip.MustParseAddr("10.0.0.1")
	b4 := netip.MustParseAddr("10.0.0.2")
	m := func(p string, port uint32, ip netip.Addr) ovn.PortMapping {
		return ovn.PortMapping{Protocol: p, HostPort: port, ContainerPort: 1, HostIP: ip}
	}
	for _, tc := range []struct {
		a, b ovn.PortMapping
		want bool
	}{
		{m("tcp", 80, netip.Addr{}), m("tcp", 80, netip.Addr{}), true},
		{m("tcp", 80, netip.Addr{}), m("tcp", 80, a4), true},
		{m("tcp", 80, a4), m("tcp", 80, b4), false},
		{m("tcp", 80, a4), m("tcp", 80, a4), true},
		{m("tcp", 80, a4), m("udp", 80, a4), false},
		{m("tcp", 80, a4), m("tcp", 81, a4), false},
	} {
		if got := Overlap(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlap(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestClaimConflict(t *testing.T) {
	m := &Manager{}
	ms := []ovn.PortMapping{{Protocol: "tcp", HostPort: 8080, ContainerPort: 80}}
	release, err := m.Claim("qn-c-a", "container a/eth0", ms)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Claim("qn-c-b", "container b/eth0", ms)
	if !errors.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "container a/eth0") || !strings.Contains(err.Error(), "tcp 8080") {
		t.Fatalf("second claim: %v", err)
	}
	if _, err := m.Claim("qn-c-a", "container a/eth0", ms); err != nil {
		t.Fatalf("the same port again: %v", err)
	}
	release()
	if _, err := m.Claim("qn-c-b", "container b/eth0", ms); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestRules(t *testing.T) {
	entries := []Entry{
		{Port: "qn-c-b", Addrs: []netip.Addr{netip.MustParseAddr("10.250.0.6")}, Mappings: []ovn.PortMapping{
			{Protocol: "tcp", HostPort: 8081, ContainerPort: 80, HostIP: netip.MustParseAddr("fd00::1")},
		}},
		{Port: "qn-c-a", Addrs: []netip.Addr{netip.MustParseAddr("10.250.0.5"), netip.MustParseAddr("fd00:250::5")}, Mappings: []ovn.PortMapping{
			{Protocol: "tcp", HostPort: 8080, ContainerPort: 80},
			{Protocol: "udp", HostPort: 8080, ContainerPort: 80},
			{Protocol: "sctp", HostPort: 9000, ContainerPort: 9, HostIP: netip.MustParseAddr("192.0.2.1")},
		}},
	}
	want := map[Family][]string{
		V4: {
			"-A QN-HOSTPORTS -p tcp -m comment --comment qn-c-a -m tcp --dport 8080 -j DNAT --to-destination 10.250.0.5:80",
			"-A QN-HOSTPORTS -p udp -m comment --comment qn-c-a -m udp --dport 8080 -j DNAT --to-destination 10.250.0.5:80",
			"-A QN-HOSTPORTS -d 192.0.2.1/32 -p sctp -m comment --comment qn-c-a -m sctp --dport 9000 -j DNAT --to-destination 10.250.0.5:9",
		},
		V6: {
			"-A QN-HOSTPORTS -p tcp -m comment --comment qn-c-a -m tcp --dport 8080 -j DNAT --to-destination [fd00:250::5]:80",
			"-A QN-HOSTPORTS -p udp -m comment --comment qn-c-a -m udp --dport 8080 -j DNAT --to-destination [fd00:250::5]:80",
		},
	}
	for f, w := range want {
		got := DNATRules(f, entries)
		if len(got) != len(w) {
			t.Fatalf("%s: %d rules, want %d: %v", f, len(got), len(w), got)
		}
		for i := range w {
			if got[i].String() != w[i] {
				t.Errorf("%s rule %d:\n got %s\nwant %s", f, i, got[i], w[i])
			}
		}
	}
	static4 := []string{
		"-A QN-POSTROUTING -o qnm+ -m conntrack --ctstate DNAT -j MASQUERADE",
		"-A QN-MGMT -i qnm+ -m conntrack --ctstate DNAT -j ACCEPT",
		"-A QN-MGMT -o qnm+ -m conntrack --ctstate DNAT -j ACCEPT",
		"-A QN-MGMT -i qnm+ -j DROP",
		"-A QN-MGMT -o qnm+ -j DROP",
	}
	for i, r := range StaticRules(V4) {
		if r.String() != static4[i] {
			t.Errorf("static rule %d: %s, want %s", i, r, static4[i])
		}
	}
	if n := len(StaticRules(V6)); n != len(static4)+4 {
		t.Errorf("v6 static rules: %d (neighbour discovery in and out expected)", n)
	}
}

func TestNames(t *testing.T) {
	if n := MgmtIfname("chassis-with-a-long-name", "network-with-a-long-name"); len(n) > 15 || !strings.HasPrefix(n, MgmtIfPrefix) {
		t.Fatalf("ifname %q", n)
	}
	if n := MgmtPortName("c", "blue"); !strings.HasPrefix(n, "qn-mgmt-") || !strings.HasSuffix(n, "-blue") {
		t.Fatalf("port %q", n)
	}
}

func TestEntryValidate(t *testing.T) {
	v4only := Entry{Network: "blue", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}}
	v4only.Mappings = []ovn.PortMapping{{Protocol: "tcp", HostPort: 80, ContainerPort: 80, HostIP: netip.MustParseAddr("fd00::1")}}
	if err := v4only.Validate(); !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "portMappings[0].hostIP: fd00::1 is an ipv6 address") {
		t.Fatalf("v6 host IP, v4 container: %v", err)
	}
	v4only.Mappings[0].HostIP = netip.MustParseAddr("10.1.1.1")
	if err := v4only.Validate(); err != nil {
		t.Fatal(err)
	}
	none := Entry{Mappings: v4only.Mappings}
	if err := none.Validate(); !errors.Is(err, errs.Invalid) {
		t.Fatalf("no address: %v", err)
	}
}
