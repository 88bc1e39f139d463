package router

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		prefix, nexthop, err string
	}{
		{"192.168.10.0/24", "10.0.0.1", ""},
		{"fd00:9::/64", "fd00::1", ""},
		{"0.0.0.0/0", "10.0.0.1", ""},
		{"192.168.10.1/24", "10.0.0.1", "host bits"},
		{"nope", "10.0.0.1", "not a CIDR"},
		{"192.168.10.0/24", "fd00::1", "family"},
		{"fd00:9::/64", "10.0.0.1", "family"},
		{"192.168.10.0/24", "x", "not an IP"},
	} {
		_, err := ParseRoute(c.prefix, c.nexthop)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, errs.Invalid)) {
			t.Errorf("ParseRoute(%q, %q) = %v, want %q", c.prefix, c.nexthop, err, c.err)
		}
	}
}

func TestOverlap(t *testing.T) {
	p := netip.MustParsePrefix
	others := []Subnets{{Network: "blue", Nets: []netip.Prefix{p("10.1.0.0/24"), p("fd00:1::/64")}}}
	if err := Overlap("r1", Subnets{Network: "red", Nets: []netip.Prefix{p("10.2.0.0/24"), {}}}, others); err != nil {
		t.Fatal(err)
	}
	err := Overlap("r1", Subnets{Network: "green", Nets: []netip.Prefix{p("10.0.0.0/8")}}, others)
	if !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "green") || !strings.Contains(err.Error(), "blue") {
		t.Fatalf("overlap: %v", err)
	}
	if err := Overlap("r1", Subnets{Network: "v6", Nets: []netip.Prefix{p("fd00:1:0:0:1::/80")}}, others); err == nil {
		t.Fatal("IPv6 overlap not seen")
	}
}

func TestPriorities(t *testing.T) {
	got := Priorities(nil, []string{"b", "a", "c"})
	if got["a"] != MaxPriority || got["b"] != MaxPriority-1 || got["c"] != MaxPriority-2 {
		t.Fatalf("new group: %v", got)
	}
	// Members keep theirs; a newcomer that sorts first still comes last.
	got = Priorities(map[string]int{"b": 100, "c": 90}, []string{"a", "b", "c"})
	if got["b"] != 100 || got["c"] != 90 || got["a"] != 89 {
		t.Fatalf("newcomer: %v", got)
	}
	if got := Priorities(map[string]int{"b": 0}, []string{"a", "b"}); got["a"] != 0 {
		t.Fatalf("floor: %v", got)
	}
}

func TestMACs(t *testing.T) {
	if GatewayMAC("r1") != GatewayMAC("r1") || GatewayMAC("r1") == GatewayMAC("r2") {
		t.Fatal("gateway MAC not stable per router")
	}
	m := FloatingMAC([3]byte{0x0a, 0x51, 0x4e}, netip.MustParseAddr("192.0.2.60"))
	if !strings.HasPrefix(m, "0a:51:4e:") {
		t.Fatalf("floating MAC %s not under the prefix", m)
	}
}
