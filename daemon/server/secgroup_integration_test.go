package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/attach"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationSecurityGroupLogging: SetSecurityGroupLogging through the
// served API turns a group's drop logging on and off, Get and List show
// log_drops, and a missing or unknown name is refused with its code.
func TestIntegrationSecurityGroupLogging(t *testing.T) {
	nb, _ := ovntest.NewNB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := &server.Server{SG: &sgstore.Manager{NB: nb, Log: ovsdbtest.Logger(t)}, Attach: &attach.Manager{NB: nb},
		Log: ovsdbtest.Logger(t)}
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, srv, grpc.ChainUnaryInterceptor(server.CheckLimits))
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()

	if _, err := c.CreateSecurityGroup(ctx, &api.SecurityGroup{Name: "web", Rules: []*api.SecurityGroupRule{{Spec: "ingress tcp 80"}}}); err != nil {
		t.Fatal(err)
	}
	g, err := c.SetSecurityGroupLogging(ctx, &api.SecurityGroupLogging{Name: "web", LogDrops: true})
	if err != nil || !g.LogDrops || g.Acls != 2 {
		t.Fatalf("on: %v, %v: want log_drops and 2 ACLs (the rule, the logged default drop)", g, err)
	}
	list, err := c.ListSecurityGroups(ctx, &api.Empty{})
	if err != nil || len(list.Groups) != 1 || !list.Groups[0].LogDrops {
		t.Fatalf("list: %v, %v", list, err)
	}
	if g, err = c.SetSecurityGroupLogging(ctx, &api.SecurityGroupLogging{Name: "web"}); err != nil || g.LogDrops || g.Acls != 1 {
		t.Fatalf("off: %v, %v", g, err)
	}
	if g, err = c.GetSecurityGroup(ctx, &api.SecurityGroupRef{Name: "web"}); err != nil || g.LogDrops {
		t.Fatalf("get after off: %v, %v", g, err)
	}
	for name, code := range map[string]codes.Code{"": codes.InvalidArgument, "nope": codes.NotFound} {
		if _, err := c.SetSecurityGroupLogging(ctx, &api.SecurityGroupLogging{Name: name, LogDrops: true}); status.Code(err) != code {
			t.Errorf("SetSecurityGroupLogging(%q): %v, want %v", name, err, code)
		}
	}
}
