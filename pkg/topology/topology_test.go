package topology

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/api"
)

func input() Input {
	return Input{
		Networks: []*api.Network{
			{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "192.0.2.0/24"},
			{Name: "blue", Subnet4: "10.0.1.0/24"},
			{Name: "red", Subnet4: "10.0.2.0/24"},
			{Name: "lone", Subnet4: "10.0.3.0/24"},
		},
		Routers: []*api.Router{
			{Name: "r1", Networks: []string{"red", "blue"}, Gateway: &api.RouterGatewayInfo{Network: "ext", Addresses: []string{"192.0.2.5/24"}, Snat: true, ActiveChassis: "a"}},
			{Name: "r2"},
		},
		FloatingIPs: []*api.FloatingIP{{Address: "192.0.2.50", Network: "ext", Port: "p2"}, {Address: "192.0.2.51", Network: "ext"}},
		Ports: []*api.Port{
			{Name: "p2", Network: "blue", Kind: "vm", Vm: "web", BoundChassis: "b", Addresses: []string{"10.0.1.6"}},
			{Name: "p1", Network: "blue", Kind: "container", ContainerId: "0123456789abcdef", BoundChassis: "a", Up: true, Addresses: []string{"10.0.1.5"}},
			{Name: "p3", Network: "lone", Kind: "container", ContainerId: "c3", Up: true},
		},
		LoadBalancers: []*api.LoadBalancer{{Name: "lb", Network: "red", Vip: "10.0.2.100"}},
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Build(input(), "")); err != nil {
		t.Fatal(err)
	}
	want := `external ext  physnet physnet1  192.0.2.0/24  free fips 192.0.2.51
└─ router r1  gateway 192.0.2.5/24 on a, snat
   ├─ network blue  10.0.1.0/24
   │  ├─ port p1  container 0123456789ab  chassis a  up  10.0.1.5
   │  └─ port p2  vm web  chassis b  down  10.0.1.6  fip 192.0.2.50
   └─ network red  10.0.2.0/24
      └─ lb lb  10.0.2.100  tcp  0 members
router r2
network lone  10.0.3.0/24
└─ port p3  container c3  chassis -  up  -
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestFilterJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, Build(input(), "red")); err != nil {
		t.Fatal(err)
	}
	var got Tree
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.ExternalNetworks) != 1 || len(got.ExternalNetworks[0].Routers) != 1 || len(got.Routers)+len(got.Networks) != 0 {
		t.Fatalf("want ext -> r1 only:\n%s", b.String())
	}
	if n := got.ExternalNetworks[0].Routers[0].Networks; len(n) != 1 || n[0].Name != "red" || n[0].LoadBalancers[0].VIP != "10.0.2.100" {
		t.Fatalf("want red only:\n%s", b.String())
	}
	for _, key := range []string{`"external_networks"`, `"floating_ips"`, `"active_chassis"`, `"load_balancers"`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("json lacks %s:\n%s", key, b.String())
		}
	}
}
