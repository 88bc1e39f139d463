package bastion

import (
	"fmt"
	"net/netip"
	"strings"
)

// PeerConfig is what a peer's wg-quick file says.
type PeerConfig struct {
	Peer       string
	Bastion    string
	PrivateKey Key // the peer's: printed once, never stored
	Address    netip.Addr
	ServerKey  Key // the bastion's public key
	Endpoint   string
	AllowedIPs []netip.Prefix // the granted networks' subnets
}

// Render returns the wg-quick config of a peer.
func Render(c PeerConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# QuantumNet bastion %s, peer %s: keep this file secret; the private key is not stored anywhere else.\n", c.Bastion, c.Peer)
	b.WriteString("[Interface]\n")
	fmt.Fprintf(&b, "PrivateKey = %s\n", c.PrivateKey)
	fmt.Fprintf(&b, "Address = %s\n", netip.PrefixFrom(c.Address, c.Address.BitLen()))
	b.WriteString("\n[Peer]\n")
	fmt.Fprintf(&b, "PublicKey = %s\n", c.ServerKey)
	if c.Endpoint != "" {
		fmt.Fprintf(&b, "Endpoint = %s\n", c.Endpoint)
	}
	ips := make([]string, len(c.AllowedIPs))
	for i, p := range c.AllowedIPs {
		ips[i] = p.String()
	}
	fmt.Fprintf(&b, "AllowedIPs = %s\n", strings.Join(ips, ", "))
	b.WriteString("PersistentKeepalive = 25\n")
	return b.String()
}
