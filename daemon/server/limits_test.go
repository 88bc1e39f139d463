package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// Requests over a limit are refused before any handler runs, with
// InvalidArgument naming the field; requests within pass through.
func TestRequestLimits(t *testing.T) {
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, apitest.NewDaemon(), grpc.ChainUnaryInterceptor(server.CheckLimits))
	c := apitest.Dial(t, path, "cni")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	many := make([]string, 65)
	for i := range many {
		many[i] = "web"
	}
	for _, tc := range []struct {
		name  string
		req   *api.CNIRequest
		field string // "": passes the limits
	}{
		{"ok", &api.CNIRequest{ContainerId: "abc123", Ifname: "eth0", Netns: "/var/run/netns/x", Network: "blue", Name: "my pod"}, ""},
		{"long container ID", &api.CNIRequest{ContainerId: strings.Repeat("a", 129)}, "container_id"},
		{"container ID with a slash", &api.CNIRequest{ContainerId: "../etc"}, "container_id"},
		{"long ifname", &api.CNIRequest{ContainerId: "a", Ifname: "eth0123456789012"}, "ifname"},
		{"ifname with a slash", &api.CNIRequest{ContainerId: "a", Ifname: "a/b"}, "ifname"},
		{"NUL in the network", &api.CNIRequest{ContainerId: "a", Network: "blue\x00"}, "network"},
		{"control character in the DNS name", &api.CNIRequest{ContainerId: "a", Name: "pod\tx"}, "name"},
		{"too many groups", &api.CNIRequest{ContainerId: "a", SecurityGroups: many}, "security_groups"},
		{"junk group", &api.CNIRequest{ContainerId: "a", SecurityGroups: []string{"web", "a b"}}, "security_groups[1]"},
		{"junk address", &api.CNIRequest{ContainerId: "a", Ips: []string{"10.0.0.1;rm"}}, "ips[0]"},
		{"long port mapping protocol", &api.CNIRequest{ContainerId: "a", PortMappings: []*api.PortMapping{{Protocol: strings.Repeat("x", 2000)}}}, "port_mappings[0].protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CNIAdd(ctx, tc.req)
			if tc.field == "" {
				if status.Code(err) != codes.Unimplemented {
					t.Fatalf("CNIAdd = %v, want it to reach the handler (Unimplemented)", err)
				}
				return
			}
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tc.field+":") {
				t.Fatalf("CNIAdd = %v, want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
	vm := &api.VMRequest{Domain: "vm1", Uuid: "not a uuid"}
	if _, err := c.VMPrepare(ctx, vm); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "uuid") {
		t.Fatalf("VMPrepare with a junk UUID = %v, want InvalidArgument naming uuid", err)
	}
	vm = &api.VMRequest{Domain: "vm1", Nics: []*api.VMNIC{{InterfaceId: "x y"}}}
	if _, err := c.VMPrepare(ctx, vm); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "nics[0].interface_id") {
		t.Fatalf("VMPrepare with a junk interface ID = %v, want InvalidArgument naming nics[0].interface_id", err)
	}
}
