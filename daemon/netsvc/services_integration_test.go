package netsvc_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationServices: a network's services are its load balancers
// as Northbound has them (VIP and listeners); another network's are not.
// Ensure writes their names to the network's DNS row (OVN native DNS),
// over a port of the same label, whose reverse name stays.
func TestIntegrationServices(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(network.Input{Name: "blue", Subnet4: "10.0.0.0/24", DNSDomain: "blue.internal"}, d)
	e.createNet(network.Input{Name: "red", Subnet4: "10.1.0.0/24"}, d)
	lbs := &lbstore.Manager{NB: d.nb, Alloc: d.al, Log: ovsdbtest.Logger(t)}
	if _, err := lbs.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.0.0.100")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lbs.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}); err != nil {
		t.Fatal(err)
	}
	want := map[string]qndns.Service{"web": {Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")},
		Ports: []qndns.ServicePort{{Name: "80", Proto: "tcp", Port: 80}}}}
	if got := d.m.Services("blue"); !reflect.DeepEqual(got, want) {
		t.Fatalf("services of blue: %+v, want %+v", got, want)
	}
	if got := d.m.Services("red"); len(got) != 0 {
		t.Fatalf("services of red: %+v", got)
	}
	web := e.createPort(d, "blue", "p1", "web")
	db := e.createPort(d, "blue", "p2", "db")
	e.settle(d)
	e.ensure(d, "blue")
	ip, ipdb := web.Addrs[0].String(), db.Addrs[0].String()
	checkMap(t, "DNS records", e.dnsRow("blue").Map("records"), map[string]string{
		"web.blue.internal": "10.0.0.100", netsvc.ReverseName(web.Addrs[0]): "web.blue.internal", "100.0.0.10.in-addr.arpa": "web.blue.internal",
		"db.blue.internal": ipdb, netsvc.ReverseName(db.Addrs[0]): "db.blue.internal",
	})
	if err := lbs.Delete(e.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return len(d.m.Services("blue")) == 0 }, "web gone from the cache")
	e.ensure(d, "blue")
	recs := e.dnsRow("blue").Map("records")
	if got := recs["web.blue.internal"]; got != ip {
		t.Errorf("web.blue.internal after the load balancer's deletion: %q, want the port's %s", got, ip)
	}
	if got, ok := recs["100.0.0.10.in-addr.arpa"]; ok {
		t.Errorf("the VIP's reverse name after the load balancer's deletion: %q", got)
	}
}
