package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// The load balancers a CNI request or a VM NIC names are normalized
// (sorted, no blanks or duplicates); a junk name is refused naming the
// field the client used.
func TestLoadBalancersInRequests(t *testing.T) {
	req, err := request(&api.CNIRequest{ContainerId: "c", Ifname: "eth0", Network: "blue", LoadBalancers: []string{"web", " api", "web", ""}})
	if err != nil || strings.Join(req.LoadBalancers, ",") != "api,web" {
		t.Fatalf("CNI: %v, %v", req.LoadBalancers, err)
	}
	_, err = request(&api.CNIRequest{ContainerId: "c", Ifname: "eth0", Network: "blue", LoadBalancers: []string{"Web!"}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `loadBalancers: "Web!" is not a load balancer name`) {
		t.Errorf("CNI junk name: %v", err)
	}
	nic := &api.VMNIC{InterfaceId: "aaaa", Mac: "52:54:00:00:00:01", Network: "blue", LoadBalancers: []string{"web", "api"}}
	d, err := vmDomain(&api.VMRequest{Domain: "vm1", Uuid: "u", Nics: []*api.VMNIC{nic}})
	if err != nil || len(d.NICs) != 1 || strings.Join(d.NICs[0].LoadBalancers, ",") != "api,web" {
		t.Fatalf("VM: %+v, %v", d, err)
	}
	nic.LoadBalancers = []string{"a b"}
	_, err = vmDomain(&api.VMRequest{Domain: "vm1", Uuid: "u", Nics: []*api.VMNIC{nic}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `domain vm1: NIC aaaa: load-balancers: "a b"`) {
		t.Errorf("VM junk name: %v", err)
	}
}
