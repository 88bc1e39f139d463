package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/daemon/attach"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationListOddPorts (defect 1): `qnetctl port list` over logical
// ports whose addresses are [""] or [" "] lists them without a MAC or
// addresses instead of panicking the daemon, through the served API.
func TestIntegrationListOddPorts(t *testing.T) {
	spec, err := network.Parse(network.Input{Name: "blue", Subnet4: "10.0.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	sb, _ := ovntest.NewSB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ls, err := nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{"empty": {""}, "blank": {" "}, "good": {"0a:51:4e:00:00:01 10.0.0.5"}}
	for name, addrs := range rows {
		if err := nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: name, Addresses: addrs,
			ExternalIDs: map[string]string{keys.Network: "blue", keys.Kind: "container"}}); err != nil {
			t.Fatal(err)
		}
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		ports, err := nb.Ports(map[string]string{keys.Network: "blue"})
		return err == nil && len(ports) == len(rows)
	}, "ports not in the cache")
	srv := &server.Server{Attach: &attach.Manager{NB: nb, SB: sb, Log: ovsdbtest.Logger(t)}, Log: ovsdbtest.Logger(t)}
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, srv, grpc.ChainUnaryInterceptor(server.CheckLimits))
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	for _, f := range []*api.PortFilter{{}, {Network: "blue"}} {
		list, err := c.ListPorts(ctx, f)
		if err != nil {
			t.Fatalf("ListPorts(%v): %v", f, err)
		}
		got := map[string]*api.Port{}
		for _, p := range list.Ports {
			got[p.Name] = p
		}
		for _, name := range []string{"empty", "blank"} {
			if p := got[name]; p == nil || p.Mac != "" || len(p.Addresses) != 0 {
				t.Errorf("port %s listed as %v, want it without MAC and addresses", name, p)
			}
		}
		if p := got["good"]; p == nil || p.Mac != "0a:51:4e:00:00:01" || len(p.Addresses) != 1 || p.Addresses[0] != "10.0.0.5" {
			t.Errorf("port good listed as %v", p)
		}
	}
}
