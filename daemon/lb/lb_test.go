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
	have := []Listener{{80, 8080}}
	if err := ValidateListener(Listener{443, 8443}, have); err != nil {
		t.Fatal(err)
	}
	if err := ValidateListener(Listener{80, 9090}, have); !errors.Is(err, errs.Conflict) {
		t.Errorf("duplicate: %v", err)
	}
	for _, l := range []Listener{{0, 80}, {65536, 80}, {80, 0}, {81, 70000}} {
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
	got := VIPs(vip, Listener{80, 8080}, Backends(members, res))
	want := map[string]string{"10.0.0.100:80": "10.0.0.5:8080,10.0.0.9:8080"}
	if !maps.Equal(got, want) {
		t.Errorf("vips %v, want %v", got, want)
	}
	if got := VIPs(vip, Listener{80, 8080}, nil); got["10.0.0.100:80"] != "" {
		t.Errorf("no members: %v", got)
	}
	mp := IPPortMappings(members, res, gw[0])
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
		Listeners:   []Listener{{80, 8080}, {443, 8443}},
		Members:     []Member{{Port: "p1", Enabled: true}, {Address: netip.MustParseAddr("10.0.0.9")}},
		HealthCheck: &HealthCheck{5, 2, 2, 3}}
	out, err := FromIDs(in.IDs(), "tcp")
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.Network != in.Network || out.VIP != in.VIP || *out.HealthCheck != *in.HealthCheck ||
		!slices.Equal(out.Listeners, in.Listeners) || !slices.Equal(out.Members, in.Members) {
		t.Errorf("got %+v, want %+v", out, in)
	}
	empty := LoadBalancer{Name: "x", Network: "blue", VIP: in.VIP}
	out, err = FromIDs(empty.IDs(), "udp")
	if err != nil || out.HealthCheck != nil || len(out.Listeners) != 0 || len(out.Members) != 0 || out.Protocol != "udp" {
		t.Errorf("empty: %+v %v", out, err)
	}
}
