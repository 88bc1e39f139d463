package lb

import (
	"errors"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

var (
	subnet = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	gw     = []netip.Addr{netip.MustParseAddr("10.0.0.1")}
)

func TestValidateName(t *testing.T) {
	for _, n := range []string{"web", "a", "web-1_x"} {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "Web", "-a", "a-", "a b"} {
		if err := ValidateName(n); !errors.Is(err, errs.Invalid) {
			t.Errorf("%q: got %v, want invalid", n, err)
		}
	}
}

func TestValidateProtocol(t *testing.T) {
	if p, err := ValidateProtocol(""); p != "tcp" || err != nil {
		t.Errorf("default: %q %v", p, err)
	}
	if p, err := ValidateProtocol("UDP"); p != "udp" || err != nil {
		t.Errorf("UDP: %q %v", p, err)
	}
	if _, err := ValidateProtocol("icmp"); !errors.Is(err, errs.Invalid) {
		t.Errorf("icmp: %v", err)
	}
}

func TestValidateVIP(t *testing.T) {
	if err := ValidateVIP(netip.MustParseAddr("10.0.0.100"), subnet, gw); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"10.0.1.100", "10.0.0.1", "10.0.0.0"} {
		err := ValidateVIP(netip.MustParseAddr(v), subnet, gw)
		if !errors.Is(err, errs.Invalid) {
			t.Errorf("%s: got %v, want invalid", v, err)
		}
	}
	if err := ValidateVIP(netip.Addr{}, subnet, gw); !errors.Is(err, errs.Invalid) {
		t.Errorf("zero: %v", err)
	}
}

func TestValidateListener(t *testing.T) {
	have := []Listener{{Port: 80, MemberPort: 8080}, {Port: 443, MemberPort: 8443, Name: "https"}}
	if err := ValidateListener(Listener{Port: 8443, MemberPort: 8443, Name: "alt"}, have); err != nil {
		t.Fatal(err)
	}
	if err := ValidateListener(Listener{Port: 80, MemberPort: 9090}, have); !errors.Is(err, errs.Conflict) {
		t.Errorf("duplicate: %v", err)
	}
	for _, name := range []string{"https", "80"} {
		if err := ValidateListener(Listener{Port: 81, MemberPort: 81, Name: name}, have); !errors.Is(err, errs.Conflict) {
			t.Errorf("duplicate name %q: %v", name, err)
		}
	}
	for _, l := range []Listener{{Port: 0, MemberPort: 80}, {Port: 65536, MemberPort: 80}, {Port: 80, MemberPort: 0},
		{Port: 81, MemberPort: 70000}, {Port: 82, MemberPort: 82, Name: "Web"}, {Port: 83, MemberPort: 83, Name: "-a"},
		{Port: 84, MemberPort: 84, Name: "a_b"}} {
		if err := ValidateListener(l, nil); !errors.Is(err, errs.Invalid) {
			t.Errorf("%v: %v", l, err)
		}
	}
}

func TestValidateHealthCheck(t *testing.T) {
	h := &HealthCheck{5, 2, 2, 3}
	for _, p := range []string{"tcp", "udp"} {
		if err := ValidateHealthCheck(h, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := ValidateHealthCheck(h, "sctp"); !errors.Is(err, errs.Invalid) {
		t.Errorf("sctp: %v", err)
	}
	for _, bad := range []*HealthCheck{{0, 1, 1, 1}, {5, 6, 1, 1}, {5, 2, 0, 1}, {5, 2, 1, 0}} {
		if err := ValidateHealthCheck(bad, "tcp"); !errors.Is(err, errs.Invalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	want := map[string]string{"interval": "5", "timeout": "2", "success_count": "2", "failure_count": "3"}
	if got := h.Options(); !maps.Equal(got, want) {
		t.Errorf("options %v", got)
	}
}

func TestParseMember(t *testing.T) {
	m, err := ParseMember("10.0.0.5")
	if err != nil || m.Address != netip.MustParseAddr("10.0.0.5") || m.Port != "" || !m.Enabled {
		t.Errorf("address: %+v %v", m, err)
	}
	m, err = ParseMember("blue-c1-eth0")
	if err != nil || m.Port != "blue-c1-eth0" || m.ID() != "blue-c1-eth0" {
		t.Errorf("port: %+v %v", m, err)
	}
	for _, s := range []string{"", "a,b", "a:b"} {
		if _, err := ParseMember(s); !errors.Is(err, errs.Invalid) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func resolver(addrs map[string]string) Resolve {
	return func(m Member) (netip.Addr, bool) {
		if m.Port == "" {
			return m.Address, true
		}
		a, ok := addrs[m.Port]
		if !ok {
			return netip.Addr{}, false
		}
		return netip.MustParseAddr(a), true
	}
}

func TestVIPsAndMappings(t *testing.T) {
	members := []Member{
		{Port: "p1", Enabled: true},
		{Port: "p2", Enabled: false},
		{Port: "gone", Enabled: true},
		{Address: netip.MustParseAddr("10.0.0.9"), Enabled: true},
	}
	res := resolver(map[string]string{"p1": "10.0.0.5", "p2": "10.0.0.6"})
	vip := netip.MustParseAddr("10.0.0.100")
	got := VIPs(vip, Listener{Port: 80, MemberPort: 8080}, Backends(members, res))
	want := map[string]string{"10.0.0.100:80": "10.0.0.5:8080,10.0.0.9:8080"}
	if !maps.Equal(got, want) {
		t.Errorf("vips %v, want %v", got, want)
	}
	if got := VIPs(vip, Listener{Port: 80, MemberPort: 8080}, nil); got["10.0.0.100:80"] != "" {
		t.Errorf("no members: %v", got)
	}
	mp := IPPortMappings(members, res, func(Member) netip.Addr { return gw[0] })
	wantMp := map[string]string{"10.0.0.5": "p1:10.0.0.1", "10.0.0.6": "p2:10.0.0.1"}
	if !maps.Equal(mp, wantMp) {
		t.Errorf("mappings %v, want %v", mp, wantMp)
	}
	if Owner("web") != "lb:web" {
		t.Error("names")
	}
	if FindMember(members, "10.0.0.9") != 3 || FindMember(members, "nope") != -1 {
		t.Error("FindMember")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.0.0.100"), Protocol: "tcp",
		Listeners:   []Listener{{Port: 80, MemberPort: 8080}, {Port: 443, MemberPort: 8443, Name: "https"}},
		Members:     []Member{{Port: "p1", Enabled: true}, {Address: netip.MustParseAddr("10.0.0.9")}},
		HealthCheck: &HealthCheck{5, 2, 2, 3}, Source: netip.MustParseAddr("10.0.0.2"),
		Sources: map[string]netip.Addr{"red": netip.MustParseAddr("10.1.0.2"), "green": netip.MustParseAddr("10.2.0.2")},
		FIP:     netip.MustParseAddr("192.0.2.50"), Affinity: 60}
	out, err := FromIDs(in.IDs(), "tcp")
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.Network != in.Network || out.VIP != in.VIP || *out.HealthCheck != *in.HealthCheck ||
		out.Source != in.Source || !maps.Equal(out.Sources, in.Sources) || out.FIP != in.FIP || out.Affinity != 60 ||
		!slices.Equal(out.Listeners, in.Listeners) || !slices.Equal(out.Members, in.Members) {
		t.Errorf("got %+v, want %+v", out, in)
	}
	empty := LoadBalancer{Name: "x", Network: "blue", VIP: in.VIP}
	out, err = FromIDs(empty.IDs(), "udp")
	if err != nil || out.HealthCheck != nil || len(out.Listeners) != 0 || len(out.Members) != 0 || out.Protocol != "udp" {
		t.Errorf("empty: %+v %v", out, err)
	}
}

func TestServiceNames(t *testing.T) {
	l := &LoadBalancer{Name: "my_web", Protocol: "tcp",
		Listeners: []Listener{{Port: 80, MemberPort: 8080}, {Port: 443, MemberPort: 8443, Name: "https"}}}
	got := ServiceNames(l, "blue.example.")
	want := []string{"my-web.blue.example", "_80._tcp.my-web.blue.example", "_https._tcp.my-web.blue.example"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAffinityAndWeight(t *testing.T) {
	for _, v := range []int{0, 1, 65535} {
		if err := ValidateAffinity(v); err != nil {
			t.Errorf("%d: %v", v, err)
		}
	}
	for _, v := range []int{-1, 65536} {
		if err := ValidateAffinity(v); !errors.Is(err, errs.Invalid) {
			t.Errorf("%d: %v", v, err)
		}
	}
	if ValidateWeight(0) != nil || ValidateWeight(1) != nil {
		t.Error("weights 0 and 1 are fine")
	}
	err := ValidateWeight(3)
	if !errors.Is(err, errs.Invalid) || err.Error() != "lb: member weight 3: OVN 23.03 load balancers have no member weights; only 1 is supported" {
		t.Errorf("weight 3: %v", err)
	}
	l := LoadBalancer{Affinity: 60}
	if l.Options()["affinity_timeout"] != "60" || len((&LoadBalancer{}).Options()) != 0 {
		t.Error("options")
	}
}

func TestIPv6Mappings(t *testing.T) {
	members := []Member{{Port: "p1", Enabled: true}}
	res := resolver(map[string]string{"p1": "fd00::5"})
	src := netip.MustParseAddr("fd00::2")
	mp := IPPortMappings(members, res, func(Member) netip.Addr { return src })
	if mp["[fd00::5]"] != "p1:[fd00::2]" {
		t.Errorf("mappings %v", mp)
	}
	v := VIPs(netip.MustParseAddr("fd00::100"), Listener{Port: 80, MemberPort: 8080}, Backends(members, res))
	if v["[fd00::100]:80"] != "[fd00::5]:8080" {
		t.Errorf("vips %v", v)
	}
}
