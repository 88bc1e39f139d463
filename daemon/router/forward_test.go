package router

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

func TestForwardRecord(t *testing.T) {
	fs := []Forward{
		{Protocol: "tcp", Port: 8080, Target: "vm-1:x", TargetPort: 80, Pinned: netip.MustParseAddr("10.0.0.5")},
		{Protocol: "tcp", Port: 22, Target: "qn-c-abc", TargetPort: 2222},
	}
	rec := FormatRules(fs)
	if rec != "22=qn-c-abc:2222,8080=vm-1:x:80@10.0.0.5" {
		t.Fatalf("record %q", rec)
	}
	got, err := ParseRules("tcp", rec)
	if err != nil || len(got) != 2 || got[0] != fs[1] || got[1] != fs[0] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if got, err := ParseRules("udp", ""); err != nil || len(got) != 0 {
		t.Fatalf("empty record: %+v %v", got, err)
	}
	for _, bad := range []string{"22", "22=p", "22=p:0", "0=p:22", "x=p:22", "22=:22", "22=p:22@nope", "70000=p:22", "22=p:70000"} {
		if _, err := ParseRules("tcp", bad); !errors.Is(err, errs.Invalid) {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
}

func TestForwardFields(t *testing.T) {
	for in, want := range map[string]string{"": "tcp", "TCP": "tcp", " udp ": "udp"} {
		if got, err := ParseProtocol(in); err != nil || got != want {
			t.Errorf("protocol %q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"sctp", "icmp", "tcp6"} {
		if _, err := ParseProtocol(bad); !errors.Is(err, errs.Invalid) {
			t.Errorf("protocol %q accepted", bad)
		}
	}
	for n, ok := range map[uint32]bool{0: false, 1: true, 65535: true, 65536: false} {
		if _, err := ParsePortNumber("port", n); (err == nil) != ok {
			t.Errorf("port %d: %v", n, err)
		}
	}
	v4, v6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")
	other := netip.MustParseAddr("10.0.0.6")
	for _, c := range []struct {
		ips    []netip.Addr
		pinned netip.Addr
		want   netip.Addr
		ok     bool
	}{
		{[]netip.Addr{v6, v4, other}, netip.Addr{}, v4, true},
		{[]netip.Addr{v6}, netip.Addr{}, netip.Addr{}, false},
		{[]netip.Addr{v4, other}, other, other, true},
		{[]netip.Addr{v4}, other, other, false},
	} {
		if got, ok := TargetAddress(c.ips, c.pinned); got != c.want || ok != c.ok {
			t.Errorf("TargetAddress(%v, %v) = %v %v, want %v %v", c.ips, c.pinned, got, ok, c.want, c.ok)
		}
	}
	vips := ForwardVIPs(netip.MustParseAddr("192.0.2.60"), []Forward{{Port: 22, TargetPort: 2222, Address: v4}, {Port: 80, TargetPort: 8080}})
	if len(vips) != 1 || vips["192.0.2.60:22"] != "10.0.0.5:2222" {
		t.Fatalf("vips %v: want only the forward with an address", vips)
	}
}
