package nbstore

import (
	"strconv"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationLoadBalancerHealth: lb show's member health is what
// Southbound Service_Monitor says (rows written as ovn-northd and
// ovn-controller would), unknown without a row.
func TestIntegrationLoadBalancerHealth(t *testing.T) {
	e := stackEnv(t, true)
	e.m.SB = e.SB
	e.network("blue", "10.0.0.0/24")
	p1, p2 := e.port("p1", "blue"), e.port("p2", "blue")
	if _, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100")}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (lb.LoadBalancer, error){
		func() (lb.LoadBalancer, error) {
			return e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080})
		},
		func() (lb.LoadBalancer, error) { return e.m.AddMember(e.ctx, "web", "p1", 0) },
		func() (lb.LoadBalancer, error) { return e.m.AddMember(e.ctx, "web", "p2", 0) },
		func() (lb.LoadBalancer, error) {
			return e.m.SetHealthCheck(e.ctx, "web", &lb.HealthCheck{Interval: 1, Timeout: 1, Success: 1, Failure: 1})
		},
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	monitor := func(port, ip, status string) {
		e.SBCtl("create", "Service_Monitor", "logical_port="+port, "ip="+ip,
			"port="+strconv.Itoa(8080), "protocol=tcp", "status="+status, "src_ip=10.0.0.1")
	}
	monitor("p1", p1.IPs[0].String(), "online")
	monitor("p2", p2.IPs[0].String(), "offline")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		l, err := e.m.Get("web")
		return err == nil && l.Members[0].Health == "online" && l.Members[1].Health == "offline"
	}, "member health online/offline")
	if _, err := e.m.SetHealthCheck(e.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	l, err := e.m.Get("web")
	if err != nil || l.Members[0].Health != "unknown" {
		t.Fatalf("without a health check: %+v %v", l, err)
	}
}
