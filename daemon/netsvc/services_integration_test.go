package netsvc_test

import (
	"net/netip"
	"reflect"
	"testing"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationServices: a network's services are its load balancers
// as Northbound has them (VIP and listeners); another network's are not.
func TestIntegrationServices(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(network.Input{Name: "blue", Subnet4: "10.0.0.0/24"}, d)
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
}
