package config

import (
	"strings"
	"testing"
)

const goodBGP = `[bgp]
asn = 65001
router_id = "192.0.2.11"
next_hop = "192.0.2.11"
neighbors = [{ address = "192.0.2.1", asn = 65000 }]
`

// TestBGPOffByDefault: no [bgp] section (and the commented example) leaves
// the speaker off.
func TestBGPOffByDefault(t *testing.T) {
	for name, text := range map[string]string{"empty": "", "example": Example} {
		c := Defaults()
		if err := Parse(text, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.BGP.Enabled() {
			t.Errorf("%s: bgp on by default: %+v", name, c.BGP)
		}
	}
}

// TestBGPDefaults: a minimal section gets port 179, ipv4 only and a
// graceful restart time.
func TestBGPDefaults(t *testing.T) {
	c := Defaults()
	if err := Parse(goodBGP, &c); err != nil {
		t.Fatal(err)
	}
	b := c.BGP
	if !b.Enabled() || b.ListenPort != 179 || !b.HasFamily("ipv4") || b.HasFamily("ipv6") || b.GracefulRestartTime != 120 {
		t.Errorf("defaults: %+v", b)
	}
	if len(b.Neighbor) != 1 || b.Neighbor[0].ASN != 65000 {
		t.Errorf("neighbours: %+v", b.Neighbor)
	}
}

// TestBGPRefusals: each bad field is refused with an error naming it.
func TestBGPRefusals(t *testing.T) {
	for _, tc := range []struct{ text, key string }{
		{strings.Replace(goodBGP, `address = "192.0.2.1"`, `address = "tor1"`, 1), "bgp.neighbors[0].address"},
		{strings.Replace(goodBGP, `asn = 65000`, `asn = 0`, 1), "bgp.neighbors[0].asn"},
		{strings.Replace(goodBGP, `asn = 65000`, `asn = 4294967295`, 1), "bgp.neighbors[0].asn"},
		{strings.Replace(goodBGP, `asn = 65001`, `asn = 4294967295`, 1), "bgp.asn"},
		{strings.Replace(goodBGP, `asn = 65001`, `asn = 0`, 1), "bgp.asn"},
		{strings.Replace(goodBGP, `router_id = "192.0.2.11"`, `router_id = "2001:db8::1"`, 1), "bgp.router_id"},
		{strings.Replace(goodBGP, `router_id = "192.0.2.11"`, `router_id = "r1"`, 1), "bgp.router_id"},
		{strings.Replace(goodBGP, `next_hop = "192.0.2.11"`, `next_hop = "x"`, 1), "bgp.next_hop"},
		{goodBGP + "listen_port = 70000\n", "bgp.listen_port"},
		{goodBGP + "families = [\"ipv5\"]\n", "bgp.families"},
		{goodBGP + "families = [\"ipv6\"]\n", "bgp.next_hop6"},
		{strings.Replace(goodBGP, `neighbors = [{ address = "192.0.2.1", asn = 65000 }]`, `neighbors = []`, 1), "bgp.neighbors"},
		{strings.Replace(goodBGP, `{ address = "192.0.2.1", asn = 65000 }`, `{ address = "192.0.2.1", asn = 65000 }, { address = "192.0.2.1", asn = 65000 }`, 1), "bgp.neighbors[1].address"},
		{goodBGP + "expose_routes = true\n", "bgp.expose_routes"}, // no chassis.bridge_mappings
	} {
		c := Defaults()
		err := Parse(tc.text, &c)
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("want an error naming %s, got %v\n%s", tc.key, err, tc.text)
		}
	}
}

// TestBGPExposeRoutes: expose_routes is off by default; on, with the
// chassis' bridge mappings, which Bridges gives as physnet → bridge.
func TestBGPExposeRoutes(t *testing.T) {
	c := Defaults()
	if err := Parse(goodBGP, &c); err != nil || c.BGP.ExposeRoutes {
		t.Fatalf("default: expose_routes %v, %v", c.BGP.ExposeRoutes, err)
	}
	c = Defaults()
	text := "[chassis]\nbridge_mappings = [\"physnet1:br-ex\", \"physnet2:br-p2\"]\n" + goodBGP + "expose_routes = true\n"
	if err := Parse(text, &c); err != nil {
		t.Fatal(err)
	}
	if b := c.Bridges(); !c.BGP.ExposeRoutes || len(b) != 2 || b["physnet1"] != "br-ex" || b["physnet2"] != "br-p2" {
		t.Errorf("expose_routes %v, bridges %v", c.BGP.ExposeRoutes, b)
	}
}
