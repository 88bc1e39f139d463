package netsvc

import (
	"maps"
	"net/netip"
	"reflect"
	"testing"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func lbRow(l lb.LoadBalancer) *nbdb.LoadBalancer {
	p := l.Protocol
	return &nbdb.LoadBalancer{Name: keys.LBPrefix + l.Name, Protocol: &p, ExternalIDs: l.IDs()}
}

// TestServiceOf: a load balancer's row is its network's service: the VIP,
// one SRV port per listener (named by its port), the protocol of the row.
func TestServiceOf(t *testing.T) {
	l := lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.0.0.100"), Protocol: "udp",
		Listeners: []lb.Listener{{Port: 53, MemberPort: 5353}, {Port: 80, MemberPort: 8080}}}
	n, label, svc, ok := serviceOf(lbRow(l))
	want := qndns.Service{Addrs: []netip.Addr{l.VIP}, Ports: []qndns.ServicePort{{Name: "53", Proto: "udp", Port: 53}, {Name: "80", Proto: "udp", Port: 80}}}
	if !ok || n != "blue" || label != "web" || !reflect.DeepEqual(svc, want) {
		t.Fatalf("serviceOf = %s %s %+v %v, want blue web %+v", n, label, svc, ok, want)
	}
	if _, _, _, ok := serviceOf(&nbdb.LoadBalancer{Name: "foreign", ExternalIDs: map[string]string{"x": "y"}}); ok {
		t.Error("a row not of QuantumNet's is a service")
	}
	bad := lbRow(l)
	bad.ExternalIDs[keys.LBVIP] = "junk"
	if _, _, _, ok := serviceOf(bad); ok {
		t.Error("a malformed row is a service")
	}
}

// TestLBMatters: only changes of names (VIP, listeners, network, the
// row's existence) wake the resolver's feed; members do not.
func TestLBMatters(t *testing.T) {
	l := lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.0.0.100"), Protocol: "tcp",
		Listeners: []lb.Listener{{Port: 80, MemberPort: 8080}}}
	base := lbRow(l)
	change := func(f func(ids map[string]string)) *nbdb.LoadBalancer {
		r := *base
		r.ExternalIDs = maps.Clone(base.ExternalIDs)
		f(r.ExternalIDs)
		return &r
	}
	for _, tc := range []struct {
		name     string
		old, cur *nbdb.LoadBalancer
		want     bool
	}{
		{"created", nil, base, true},
		{"deleted", base, nil, true},
		{"member added", base, change(func(ids map[string]string) { ids[keys.LBMembers] = "p1=on" }), false},
		{"listener added", base, change(func(ids map[string]string) { ids[keys.LBListeners] = "80:8080,443:8443" }), true},
		{"listener deleted", base, change(func(ids map[string]string) { ids[keys.LBListeners] = "" }), true},
		{"vip changed", base, change(func(ids map[string]string) { ids[keys.LBVIP] = "10.0.0.101" }), true},
		{"foreign row", nil, &nbdb.LoadBalancer{Name: "x"}, false},
	} {
		if got := lbMatters(tc.old, tc.cur); got != tc.want {
			t.Errorf("%s: lbMatters = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := networkOf(nbdb.LoadBalancerTable, base); n != "blue" {
		t.Errorf("networkOf a load balancer = %q, want blue", n)
	}
}

func TestWithServices(t *testing.T) {
	recs := OVNRecords("blue.internal", []Host{{Label: "web", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}}})
	got := WithServices(recs, "blue.internal", map[string]qndns.Service{
		"web":  {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("fd00::100")}},
		"bare": {},
	})
	want := map[string]string{"web.blue.internal": "10.0.0.100 fd00::100", "5.0.0.10.in-addr.arpa": "web.blue.internal",
		"100.0.0.10.in-addr.arpa": "web.blue.internal", ReverseName(netip.MustParseAddr("fd00::100")): "web.blue.internal"}
	if !maps.Equal(got, want) {
		t.Fatalf("WithServices = %v, want %v", got, want)
	}
}
