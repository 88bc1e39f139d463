package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// BGP is the opt-in BGP speaker (daemon/bgp): it announces the floating
// IPs, router gateway addresses and routed subnets that live on this
// chassis to the top-of-rack routers. Off unless ASN is set.
type BGP struct {
	ASN      uint32 `toml:"asn"`       // this speaker's AS (1..4294967294); 0: off
	RouterID string `toml:"router_id"` // an IPv4 address
	// ListenPort is where the speaker accepts sessions (0: 179; -1: it
	// only dials out).
	ListenPort int `toml:"listen_port"`
	// ListenAddress restricts the listener ("" : every address).
	ListenAddress string `toml:"listen_address"`
	// NextHop is this chassis' address on the external network: the next
	// hop of every route it announces. NextHop6 is its IPv6 one (needed
	// for the ipv6 family).
	NextHop  string        `toml:"next_hop"`
	NextHop6 string        `toml:"next_hop6"`
	Families []string      `toml:"families"` // ipv4, ipv6; none: ipv4
	Neighbor []BGPNeighbor `toml:"neighbors"`
	// GracefulRestartTime is how long (seconds) a neighbour keeps this
	// speaker's routes across a restart (0: 120).
	GracefulRestartTime int `toml:"graceful_restart_time"`
	// ExposeRoutes: install a kernel route (proto qn-bgp, 250) for each
	// announced prefix onto its physnet's bridge (chassis.bridge_mappings),
	// bring the bridge up and turn on forwarding, so that what the ToR
	// sends to next_hop reaches OVN (daemon/bgp Exposer).
	ExposeRoutes bool `toml:"expose_routes"`
}

// BGPNeighbor is a peer (a top-of-rack router).
type BGPNeighbor struct {
	Address  string `toml:"address"`
	ASN      uint32 `toml:"asn"`
	Password string `toml:"password"` // TCP MD5; "" : none
	Port     int    `toml:"port"`     // 0: 179
}

// Enabled reports whether the speaker is on.
func (b BGP) Enabled() bool { return b.ASN != 0 || b.RouterID != "" || len(b.Neighbor) > 0 }

// HasFamily reports whether family (ipv4 or ipv6) is announced.
func (b BGP) HasFamily(f string) bool {
	if len(b.Families) == 0 {
		return f == "ipv4"
	}
	return slices.Contains(b.Families, f)
}

// validateBGP checks the [bgp] section and fills its defaults.
func (c *Config) validateBGP() error {
	b := &c.BGP
	if !b.Enabled() {
		return nil
	}
	if err := validASN("bgp.asn", b.ASN); err != nil {
		return err
	}
	if id, err := netip.ParseAddr(b.RouterID); err != nil || !id.Is4() {
		return fmt.Errorf("bgp.router_id: %q is not an IPv4 address", b.RouterID)
	}
	if b.ListenPort == 0 {
		b.ListenPort = 179
	}
	if b.ListenPort < -1 || b.ListenPort > 65535 {
		return fmt.Errorf("bgp.listen_port: %d is not a port (1-65535, or -1: do not listen)", b.ListenPort)
	}
	if b.ListenAddress != "" {
		if _, err := netip.ParseAddr(b.ListenAddress); err != nil {
			return fmt.Errorf("bgp.listen_address: %q is not an IP address", b.ListenAddress)
		}
	}
	for _, f := range b.Families {
		if f != "ipv4" && f != "ipv6" {
			return fmt.Errorf("bgp.families: %q is not ipv4 or ipv6", f)
		}
	}
	if err := validNextHops(b); err != nil {
		return err
	}
	if b.GracefulRestartTime == 0 {
		b.GracefulRestartTime = 120
	}
	if b.GracefulRestartTime < 1 || b.GracefulRestartTime > 4095 {
		return fmt.Errorf("bgp.graceful_restart_time: %d is not 1-4095 seconds", b.GracefulRestartTime)
	}
	if b.ExposeRoutes && len(c.Chassis.BridgeMappings) == 0 {
		return fmt.Errorf("bgp.expose_routes: needs chassis.bridge_mappings (the physnet's bridge carries the routes)")
	}
	if len(b.Neighbor) == 0 {
		return fmt.Errorf("bgp.neighbors: at least one neighbour is required")
	}
	seen := map[netip.Addr]bool{}
	for i, n := range b.Neighbor {
		a, err := netip.ParseAddr(n.Address)
		if err != nil {
			return fmt.Errorf("bgp.neighbors[%d].address: %q is not an IP address", i, n.Address)
		}
		if seen[a] {
			return fmt.Errorf("bgp.neighbors[%d].address: %s is listed twice", i, a)
		}
		seen[a] = true
		if err := validASN(fmt.Sprintf("bgp.neighbors[%d].asn", i), n.ASN); err != nil {
			return err
		}
		if n.Port < 0 || n.Port > 65535 {
			return fmt.Errorf("bgp.neighbors[%d].port: %d is not a port", i, n.Port)
		}
	}
	return nil
}

// Bridges are chassis.bridge_mappings as physnet → bridge.
func (c Config) Bridges() map[string]string {
	m := map[string]string{}
	for _, bm := range c.Chassis.BridgeMappings {
		if phys, br, ok := strings.Cut(bm, ":"); ok {
			m[phys] = br
		}
	}
	return m
}

// validNextHops: next_hop (IPv4) is required for ipv4, next_hop6 for ipv6.
func validNextHops(b *BGP) error {
	if b.HasFamily("ipv4") || b.NextHop != "" {
		if a, err := netip.ParseAddr(b.NextHop); err != nil || !a.Is4() {
			return fmt.Errorf("bgp.next_hop: %q is not an IPv4 address (this chassis' address on the external network)", b.NextHop)
		}
	}
	if b.HasFamily("ipv6") || b.NextHop6 != "" {
		if a, err := netip.ParseAddr(b.NextHop6); err != nil || !a.Is6() || a.Is4In6() {
			return fmt.Errorf("bgp.next_hop6: %q is not an IPv6 address (needed for the ipv6 family)", b.NextHop6)
		}
	}
	return nil
}

// validASN: 1..4294967294 (0 and 4294967295 are reserved).
func validASN(key string, asn uint32) error {
	if asn == 0 || asn == 4294967295 {
		return fmt.Errorf("%s: %d is out of range (1-4294967294)", key, asn)
	}
	return nil
}
