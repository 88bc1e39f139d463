package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// recorder answers the router and floating IP calls with what it got.
type recorder struct {
	*apitest.Daemon
	got []proto.Message
}

func (r *recorder) keep(m proto.Message) { r.got = append(r.got, m) }

func (r *recorder) CreateNetwork(_ context.Context, n *api.Network) (*api.Network, error) {
	r.keep(n)
	return n, nil
}

func (r *recorder) AddRoute(_ context.Context, q *api.RouterRoute) (*api.Router, error) {
	r.keep(q)
	return &api.Router{Name: q.Router}, nil
}

func (r *recorder) DeleteRoute(_ context.Context, q *api.RouterRoute) (*api.Router, error) {
	r.keep(q)
	return &api.Router{Name: q.Router}, nil
}

func (r *recorder) SetRouterGateway(_ context.Context, q *api.RouterGateway) (*api.Router, error) {
	r.keep(q)
	return &api.Router{Name: q.Router, Gateway: &api.RouterGatewayInfo{Network: q.Network, Snat: !q.NoSnat,
		Chassis: []*api.GatewayChassis{{Name: "ch-a", Priority: 32767}}, ActiveChassis: "ch-a"}}, nil
}

func (r *recorder) AttachNetwork(_ context.Context, q *api.RouterNetwork) (*api.Router, error) {
	r.keep(q)
	return &api.Router{Name: q.Router, Networks: []string{q.Network}}, nil
}

func (r *recorder) CreateFloatingIP(_ context.Context, q *api.FloatingIP) (*api.FloatingIP, error) {
	r.keep(q)
	return &api.FloatingIP{Address: "192.0.2.50", Network: q.Network}, nil
}

func (r *recorder) AssociateFloatingIP(_ context.Context, q *api.FloatingIPAssociation) (*api.FloatingIP, error) {
	r.keep(q)
	return &api.FloatingIP{Address: q.Address, Port: q.Port, FixedIp: "10.0.1.10", Router: "r1", Distributed: true}, nil
}

// TestRouterCommands: the commands as the issue spells them reach the
// daemon with the right fields; bad usage is exit 2.
func TestRouterCommands(t *testing.T) {
	sock := apitest.SocketPath(t)
	rec := &recorder{Daemon: apitest.NewDaemon()}
	apitest.Serve(t, sock, rec)
	for _, c := range []struct {
		args []string
		want proto.Message
		out  string
	}{
		{[]string{"network", "create", "ext", "--external", "--physnet", "physnet1", "--vlan", "100", "--subnet4", "192.0.2.0/24",
			"--gateway4", "192.0.2.1", "--fip-range", "192.0.2.50-192.0.2.99"},
			&api.Network{Name: "ext", External: true, Physnet: "physnet1", Vlan: 100, Subnet4: "192.0.2.0/24", Gateway4: "192.0.2.1",
				FipRange: "192.0.2.50-192.0.2.99"}, "physnet physnet1, vlan 100"},
		{[]string{"router", "attach", "r1", "blue"}, &api.RouterNetwork{Router: "r1", Network: "blue"}, "attached"},
		{[]string{"router", "route", "add", "r1", "192.168.10.0/24", "via", "10.0.1.254"},
			&api.RouterRoute{Router: "r1", Prefix: "192.168.10.0/24", Nexthop: "10.0.1.254"}, "route added"},
		{[]string{"router", "route", "delete", "r1", "192.168.10.0/24"}, &api.RouterRoute{Router: "r1", Prefix: "192.168.10.0/24"}, "route deleted"},
		{[]string{"router", "set-gateway", "r1", "ext", "--address", "192.0.2.5", "--no-snat"},
			&api.RouterGateway{Router: "r1", Network: "ext", Address: "192.0.2.5", NoSnat: true}, "active chassis:   ch-a"},
		{[]string{"fip", "create", "ext"}, &api.FloatingIP{Network: "ext"}, "192.0.2.50 created"},
		{[]string{"fip", "associate", "192.0.2.50", "p1", "--fixed-ip", "10.0.1.10"},
			&api.FloatingIPAssociation{Address: "192.0.2.50", Port: "p1", FixedIp: "10.0.1.10"}, "distributed"},
	} {
		var out, errOut bytes.Buffer
		rec.got = nil
		if code := run(append([]string{"--socket", sock}, c.args...), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut.String())
		}
		if len(rec.got) != 1 || !proto.Equal(rec.got[0], c.want) {
			t.Fatalf("%v: daemon got %v, want %v", c.args, rec.got, c.want)
		}
		if !strings.Contains(out.String(), c.out) {
			t.Fatalf("%v: output %q lacks %q", c.args, out.String(), c.out)
		}
	}
	for _, bad := range [][]string{
		{"router", "route", "add", "r1", "192.168.10.0/24", "10.0.1.254"},
		{"router", "attach", "r1"},
		{"fip", "associate", "192.0.2.50"},
		{"router", "set-gateway", "r1"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"--socket", sock}, bad...), &out, &errOut); code != 2 {
			t.Fatalf("%v: exit %d, want 2 (usage)", bad, code)
		}
	}
}
