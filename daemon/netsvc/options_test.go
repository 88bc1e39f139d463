package netsvc

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func mustSpec(t *testing.T, in network.Input) network.Spec {
	t.Helper()
	s, err := network.Parse(in)
	if err != nil {
		t.Fatalf("network.Parse(%+v): %v", in, err)
	}
	return s
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func rng(first, last string) ipam.Range { return ipam.Range{First: addr(first), Last: addr(last)} }

// optionsCase is a case of an options builder: a network and its
// resolvers, and the options wanted (nil: none).
type optionsCase struct {
	name string
	in   network.Input
	res  Resolvers
	want map[string]string
}

// testOptions runs build on each case.
func testOptions(t *testing.T, build func(network.Spec, Resolvers) map[string]string, cases []optionsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := build(mustSpec(t, tc.in), tc.res)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestDHCPv4Options(t *testing.T) {
	mac := RouterMAC("blue")
	base := func(extra map[string]string) map[string]string {
		o := map[string]string{"server_id": "10.1.0.1", "server_mac": mac, "lease_time": "3600", "router": "10.1.0.1",
			"mtu": "1400", "domain_name": `"quantix.local"`}
		maps.Copy(o, extra)
		return o
	}
	res := Resolvers{V4: addr("10.1.0.254"), V6: addr("fd00:1::f:ffff")}
	testOptions(t, DHCPv4Options, []optionsCase{
		{"resolver", network.Input{Name: "blue", Subnet4: "10.1.0.0/24"}, res,
			base(map[string]string{"dns_server": "10.1.0.254"})},
		{"no resolver: the gateway", network.Input{Name: "blue", Subnet4: "10.1.0.0/24"}, Resolvers{},
			base(map[string]string{"dns_server": "10.1.0.1"})},
		{"only a v6 resolver: the gateway", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64"}, Resolvers{V6: res.V6},
			base(map[string]string{"dns_server": "10.1.0.1"})},
		{"explicit servers win", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", DNSServers: []string{"192.0.2.53", "2001:db8::53", "198.51.100.53"}}, res,
			base(map[string]string{"dns_server": "{192.0.2.53, 198.51.100.53}"})},
		{"one explicit server", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", DNSServers: []string{"192.0.2.53"}}, res,
			base(map[string]string{"dns_server": "192.0.2.53"})},
		{"custom gateway, lease, mtu, domain", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Gateway4: "10.1.0.200",
			LeaseTime: 60, MTU: 1380, DNSDomain: "Corp.Example"}, res,
			base(map[string]string{"server_id": "10.1.0.200", "router": "10.1.0.200", "lease_time": "60", "mtu": "1380",
				"domain_name": `"corp.example"`, "dns_server": "10.1.0.254"})},
		{"ntp", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", NTPServers: []string{"192.0.2.123"}}, res,
			base(map[string]string{"dns_server": "10.1.0.254", "ntp_server": "192.0.2.123"})},
		{"two ntp", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", NTPServers: []string{"192.0.2.123", "192.0.2.124"}}, res,
			base(map[string]string{"dns_server": "10.1.0.254", "ntp_server": "{192.0.2.123, 192.0.2.124}"})},
		{"routes end with the default route", network.Input{Name: "blue", Subnet4: "10.1.0.0/24",
			Routes: []string{"192.168.10.0/24=10.1.0.250", "172.16.0.0/12=10.1.0.251"}}, res,
			base(map[string]string{"dns_server": "10.1.0.254",
				"classless_static_route": "{192.168.10.0/24,10.1.0.250, 172.16.0.0/12,10.1.0.251, 0.0.0.0/0,10.1.0.1}"})},
		{"no IPv4 subnet", network.Input{Name: "blue", Subnet6: "fd00:1::/64"}, res, nil},
	})
}

func TestDHCPv6Options(t *testing.T) {
	mac := RouterMAC("blue")
	res := Resolvers{V4: addr("10.1.0.254"), V6: addr("fd00:1::f:ffff")}
	testOptions(t, DHCPv6Options, []optionsCase{
		{"resolver, two-label domain: no search list", network.Input{Name: "blue", Subnet6: "fd00:1::/64"}, res,
			map[string]string{"server_id": mac, "dns_server": "fd00:1::f:ffff"}},
		{"one-label domain", network.Input{Name: "blue", Subnet6: "fd00:1::/64", DNSDomain: "corp"}, res,
			map[string]string{"server_id": mac, "dns_server": "fd00:1::f:ffff", "domain_search": `"corp"`}},
		{"no resolver: the gateway", network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64", Gateway6: "fd00:1::fe"},
			Resolvers{V4: res.V4}, map[string]string{"server_id": mac, "dns_server": "fd00:1::fe"}},
		{"explicit servers", network.Input{Name: "blue", Subnet6: "fd00:1::/64", DNSServers: []string{"2001:db8::53", "192.0.2.53", "2001:db8::54"}}, res,
			map[string]string{"server_id": mac, "dns_server": "{2001:db8::53, 2001:db8::54}"}},
		{"no IPv6 subnet", network.Input{Name: "blue", Subnet4: "10.1.0.0/24"}, res, nil},
	})
}

func TestRAConfigs(t *testing.T) {
	if got := RAConfigs(mustSpec(t, network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})); got != nil {
		t.Errorf("v4 only: %v, want nil", got)
	}
	got := RAConfigs(mustSpec(t, network.Input{Name: "blue", Subnet6: "fd00:1::/64", MTU: 1380}))
	want := map[string]string{"address_mode": "dhcpv6_stateful", "send_periodic": "true", "max_interval": "30",
		"min_interval": "10", "mtu": "1380", "router_preference": "MEDIUM"}
	if !maps.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestRouterNetworks(t *testing.T) {
	for _, tc := range []struct {
		in   network.Input
		want []string
	}{
		{network.Input{Name: "blue", Subnet4: "10.1.0.0/24"}, []string{"10.1.0.1/24"}},
		{network.Input{Name: "blue", Subnet6: "fd00:1::/64"}, []string{"fd00:1::1/64"}},
		{network.Input{Name: "blue", Subnet4: "10.1.0.0/16", Gateway4: "10.1.255.254", Subnet6: "fd00:1::/48", Gateway6: "fd00:1::fe"},
			[]string{"10.1.255.254/16", "fd00:1::fe/48"}},
	} {
		if got := RouterNetworks(mustSpec(t, tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestDNSServers(t *testing.T) {
	dual := network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64"}
	withServers := dual
	withServers.DNSServers = []string{"2001:db8::53", "192.0.2.53", "192.0.2.54"}
	v4only := network.Input{Name: "blue", Subnet4: "10.1.0.0/24"}
	res := Resolvers{V4: addr("10.1.0.254"), V6: addr("fd00:1::f:ffff")}
	for _, tc := range []struct {
		name         string
		in           network.Input
		res          Resolvers
		want4, want6 string
	}{
		{"resolvers", dual, res, "10.1.0.254", "fd00:1::f:ffff"},
		{"no resolvers: gateways", dual, Resolvers{}, "10.1.0.1", "fd00:1::1"},
		{"one resolver", dual, Resolvers{V6: res.V6}, "10.1.0.1", "fd00:1::f:ffff"},
		{"explicit servers, in their order", withServers, res, "192.0.2.53 192.0.2.54", "2001:db8::53"},
		{"v4 only", v4only, Resolvers{V4: res.V4}, "10.1.0.254", ""},
		{"v4 only, nothing", v4only, Resolvers{}, "10.1.0.1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v4, v6 := DNSServers(mustSpec(t, tc.in), tc.res)
			str := func(as []netip.Addr) string {
				var s []string
				for _, a := range as {
					s = append(s, a.String())
				}
				return strings.Join(s, " ")
			}
			if str(v4) != tc.want4 || str(v6) != tc.want6 {
				t.Errorf("got %q %q, want %q %q", str(v4), str(v6), tc.want4, tc.want6)
			}
		})
	}
}

func TestResolverCandidate(t *testing.T) {
	s24 := netip.MustParsePrefix("10.1.0.0/24")
	gw := addr("10.1.0.1")
	for _, tc := range []struct {
		name string
		cfg  ipam.PoolConfig
		want string // "" : invalid
	}{
		{"/24 without range: before the broadcast", ipam.PoolConfig{Subnet: s24, Gateway: gw}, "10.1.0.254"},
		{"/24, last host excluded", ipam.PoolConfig{Subnet: s24, Gateway: gw, Exclude: []ipam.Range{rng("10.1.0.254", "10.1.0.254")}}, "10.1.0.253"},
		{"/24, gateway last", ipam.PoolConfig{Subnet: s24, Gateway: addr("10.1.0.254")}, "10.1.0.253"},
		{"range: its last", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.100", "10.1.0.200")}, "10.1.0.200"},
		{"range, its last excluded: the one before", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.100", "10.1.0.200"),
			Exclude: []ipam.Range{rng("10.1.0.200", "10.1.0.200")}}, "10.1.0.199"},
		{"range up to the broadcast", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.100", "10.1.0.255")}, "10.1.0.254"},
		{"/29", ipam.PoolConfig{Subnet: netip.MustParsePrefix("10.1.0.8/29"), Gateway: addr("10.1.0.9")}, "10.1.0.14"},
		{"v6 /64: the default pool's last", ipam.PoolConfig{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: addr("fd00:1::1")}, "fd00:1::f:ffff"},
		{"v6 range", ipam.PoolConfig{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: addr("fd00:1::1"), Range: rng("fd00:1::100", "fd00:1::1ff")}, "fd00:1::1ff"},
		{"v6 /120: no broadcast", ipam.PoolConfig{Subnet: netip.MustParsePrefix("fd00:1::/120"), Gateway: addr("fd00:1::1")}, "fd00:1::ff"},
		{"invalid pool", ipam.PoolConfig{Subnet: netip.MustParsePrefix("10.1.0.0/24"), Range: rng("10.2.0.1", "10.2.0.9")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAddr(t, ResolverCandidate(tc.cfg), tc.want)
		})
	}
}

// wantAddr fails the test unless got is want ("": invalid); it is true
// when an address is wanted (and got).
func wantAddr(t *testing.T, got netip.Addr, want string) bool {
	t.Helper()
	if want == "" {
		if got.IsValid() {
			t.Fatalf("got %s, want invalid", got)
		}
		return false
	}
	if got.String() != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	return true
}

func TestOutsideRange(t *testing.T) {
	s24 := netip.MustParsePrefix("10.1.0.0/24")
	s64 := netip.MustParsePrefix("fd00:1::/64")
	gw, gw6 := addr("10.1.0.1"), addr("fd00:1::1")
	low := rng("10.1.0.10", "10.1.0.100")
	for _, tc := range []struct {
		name string
		cfg  ipam.PoolConfig
		want string // "" : invalid
	}{
		{"range leaves the last host out", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: low}, "10.1.0.254"},
		{"range in the middle", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.100", "10.1.0.200")}, "10.1.0.254"},
		{"no range", ipam.PoolConfig{Subnet: s24, Gateway: gw}, ""},
		{"last host inside the range", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.10", "10.1.0.254")}, ""},
		{"range up to the broadcast", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: rng("10.1.0.200", "10.1.0.255")}, ""},
		// The search walks back over addresses the pool never hands out
		// (at most 8): a free address before them, outside the range, is
		// taken; at the end of the walk an excluded address or the gateway
		// is not.
		{"last host excluded: the free one before", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: low,
			Exclude: []ipam.Range{rng("10.1.0.254", "10.1.0.254")}}, "10.1.0.253"},
		{"last host the gateway: the free one before", ipam.PoolConfig{Subnet: s24, Gateway: addr("10.1.0.254"), Range: low}, "10.1.0.253"},
		{"excluded tail", ipam.PoolConfig{Subnet: s24, Gateway: gw, Range: low,
			Exclude: []ipam.Range{rng("10.1.0.200", "10.1.0.254")}}, ""},
		{"gateway at the end of the walk", ipam.PoolConfig{Subnet: s24, Gateway: addr("10.1.0.247"), Range: low,
			Exclude: []ipam.Range{rng("10.1.0.248", "10.1.0.254")}}, ""},
		{"v6 range before the default pool's end", ipam.PoolConfig{Subnet: s64, Gateway: gw6, Range: rng("fd00:1::100", "fd00:1::1ff")}, "fd00:1::f:ffff"},
		{"v6 range past the default pool", ipam.PoolConfig{Subnet: s64, Gateway: gw6, Range: rng("fd00:1::1:0:0", "fd00:1::1:0:ff")}, ""},
		{"v6 no range", ipam.PoolConfig{Subnet: s64, Gateway: gw6}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := outsideRange(tc.cfg)
			if !wantAddr(t, got, tc.want) {
				return
			}
			// Never an address the pool could hand out.
			p, err := ipam.NewPool(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st := p.State(got); st != ipam.StateOutside {
				t.Errorf("%s: pool state %d, want outside the range", got, st)
			}
		})
	}
}

// reverseAddr is miekg/dns's reverse name of s, without the trailing dot.
func reverseAddr(t *testing.T, s string) string {
	t.Helper()
	r, err := dns.ReverseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(r, ".")
}

func TestReverseName(t *testing.T) {
	for _, s := range []string{"10.1.0.254", "192.0.2.1", "0.0.0.0", "255.255.255.255", "::ffff:10.1.2.3",
		"fd00:1::f:ffff", "2001:db8::1", "::1", "fe80::a:b:c:d"} {
		if got, want := ReverseName(addr(s)), reverseAddr(t, s); got != want {
			t.Errorf("ReverseName(%s) = %q, want %q", s, got, want)
		}
	}
	if got, want := ReverseName(addr("10.1.0.254")), "254.0.1.10.in-addr.arpa"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := ReverseName(addr("2001:db8::1")), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOVNRecords(t *testing.T) {
	got := OVNRecords("blue.internal", []Host{
		{Label: "web", Addrs: []netip.Addr{addr("10.1.0.5"), addr("fd00:1::5")}},
		{Label: "db", Addrs: []netip.Addr{addr("10.1.0.6")}},
		{Label: "web", Addrs: []netip.Addr{addr("10.1.0.7"), addr("10.1.0.5")}}, // same label, one address repeated
	})
	want := map[string]string{
		"web.blue.internal":         "10.1.0.5 10.1.0.7 fd00:1::5",
		"db.blue.internal":          "10.1.0.6",
		"5.0.1.10.in-addr.arpa":     "web.blue.internal",
		"6.0.1.10.in-addr.arpa":     "db.blue.internal",
		"7.0.1.10.in-addr.arpa":     "web.blue.internal",
		reverseAddr(t, "fd00:1::5"): "web.blue.internal",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got := OVNRecords("blue.internal", nil); len(got) != 0 {
		t.Errorf("no hosts: %v", got)
	}
}

func TestMACs(t *testing.T) {
	seen := map[string]string{}
	for _, n := range []string{"blue", "red", "a", "net-1", "net-2"} {
		for kind, f := range map[string]func(string) string{"router": RouterMAC, "resolver": ResolverMAC} {
			m := f(n)
			if f(n) != m {
				t.Errorf("%s MAC of %s not stable", kind, n)
			}
			hw, err := net.ParseMAC(m)
			if err != nil || len(hw) != 6 {
				t.Fatalf("%s MAC of %s: %q: %v", kind, n, m, err)
			}
			if hw[0]&0x01 != 0 {
				t.Errorf("%s MAC %s of %s is multicast", kind, m, n)
			}
			if hw[0]&0x02 == 0 {
				t.Errorf("%s MAC %s of %s is not locally administered", kind, m, n)
			}
			if m != strings.ToLower(m) {
				t.Errorf("%s MAC %s is not lower case", kind, m)
			}
			if other, dup := seen[m]; dup {
				t.Errorf("%s MAC of %s is %s's too: %s", kind, n, other, m)
			}
			seen[m] = kind + " " + n
		}
	}
}

func TestResolverIfname(t *testing.T) {
	seen := map[string]string{}
	for i := range 200 {
		n := "net-" + strconv.Itoa(i)
		if i == 0 {
			n = strings.Repeat("x", 32) // the longest network name
		}
		h := ResolverIfname(n)
		if len(h) > 15 || len(h) == 0 {
			t.Errorf("ResolverIfname(%s) = %q: %d characters (Linux allows 15)", n, h, len(h))
		}
		if ResolverIfname(n) != h {
			t.Errorf("ResolverIfname(%s) not stable", n)
		}
		if !strings.HasPrefix(h, "qnd") {
			t.Errorf("ResolverIfname(%s) = %q lacks the qnd prefix Prune relies on", n, h)
		}
		if o, dup := seen[h]; dup {
			t.Errorf("ResolverIfname(%s) = ResolverIfname(%s) = %s", n, o, h)
		}
		seen[h] = n
	}
}

// Which port changes wake the network's services.
func TestMatters(t *testing.T) {
	ref := "dhcp"
	plain := func() *nbdb.LogicalSwitchPort {
		return &nbdb.LogicalSwitchPort{Addresses: []string{"0a:51:4e:00:00:01 10.0.0.2"}, Dhcpv4Options: &ref,
			ExternalIDs: map[string]string{keys.Network: "blue"}}
	}
	named := func(n string) *nbdb.LogicalSwitchPort {
		p := plain()
		p.ExternalIDs[keys.DNSName] = n
		return p
	}
	noRefs := plain()
	noRefs.Dhcpv4Options = nil
	moved := named("web")
	moved.Addresses = []string{"0a:51:4e:00:00:01 10.0.0.9"}
	svc := &nbdb.LogicalSwitchPort{ExternalIDs: map[string]string{keys.ServiceOf: "blue"}}
	up := plain()
	up.Up = new(true)
	for _, tc := range []struct {
		name     string
		old, cur *nbdb.LogicalSwitchPort
		want     bool
	}{
		{"plain ADD", nil, plain(), false},
		{"plain port bound", plain(), up, false},
		{"plain DEL", plain(), nil, false},
		{"named ADD", nil, named("web"), true},
		{"named DEL", named("web"), nil, true},
		{"rename", named("web"), named("www"), true},
		{"name given", plain(), named("web"), true},
		{"named port readdressed", named("web"), moved, true},
		{"port without DHCP references", nil, noRefs, true},
		{"service port", nil, svc, true},
	} {
		var old, cur model.Model
		if tc.old != nil {
			old = tc.old
		}
		if tc.cur != nil {
			cur = tc.cur
		}
		if got := matters(old, cur); got != tc.want {
			t.Errorf("%s: matters = %v, want %v", tc.name, got, tc.want)
		}
	}
}
