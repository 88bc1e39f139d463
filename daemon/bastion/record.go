package bastion

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Records: a bastion lives in the external_ids of its transit switch
// (keys.Bastion...), one key per peer (keys.BastionPeerPrefix + name =
// "PUBKEY ADDRESS NET1,NET2"). Rows are input: Decode checks them as
// strictly as a request.

// Encode returns b's external ids (without the network-independent keys
// the store adds).
func Encode(b Bastion) map[string]string {
	ids := map[string]string{
		keys.Bastion:           b.Name,
		keys.BastionRouter:     b.Router,
		keys.BastionPort:       strconv.Itoa(b.ListenPort),
		keys.BastionPrivateKey: b.PrivateKey.String(),
		keys.BastionRange:      b.TunnelRange.String(),
	}
	for _, p := range b.Peers {
		ids[keys.BastionPeerPrefix+p.Name] = EncodePeer(p)
	}
	return ids
}

// EncodePeer is a peer's record value.
func EncodePeer(p Peer) string {
	return p.PublicKey.String() + " " + p.Address.String() + " " + strings.Join(p.Networks, ",")
}

// Decode parses a bastion from its switch's external ids.
func Decode(ids map[string]string) (Bastion, error) {
	b := Bastion{Name: ids[keys.Bastion], Router: ids[keys.BastionRouter]}
	bad := func(what string) (Bastion, error) {
		return Bastion{}, fmt.Errorf("bastion %q: bad record: %s", b.Name, what)
	}
	if ValidateName(b.Name) != nil || b.Router == "" {
		return bad("name or router")
	}
	port, err := strconv.Atoi(ids[keys.BastionPort])
	if err != nil || port < 1 || port > 65535 {
		return bad("listen port")
	}
	b.ListenPort = port
	if b.PrivateKey, err = ParseKey("private key", ids[keys.BastionPrivateKey]); err != nil {
		return bad("private key")
	}
	if b.TunnelRange, err = netip.ParsePrefix(ids[keys.BastionRange]); err != nil || !b.TunnelRange.Addr().Is4() {
		return bad("tunnel range")
	}
	for k, v := range ids {
		name, ok := strings.CutPrefix(k, keys.BastionPeerPrefix)
		if !ok {
			continue
		}
		p, err := DecodePeer(name, v)
		if err != nil {
			return bad(err.Error())
		}
		b.Peers = append(b.Peers, p)
	}
	slices.SortFunc(b.Peers, func(x, y Peer) int { return strings.Compare(x.Name, y.Name) })
	return b, nil
}

// DecodePeer parses a peer's record value.
func DecodePeer(name, v string) (Peer, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return Peer{}, fmt.Errorf("peer %q: want 3 fields", name)
	}
	k, err := ParseKey("public key", f[0])
	if err != nil {
		return Peer{}, fmt.Errorf("peer %q: %w", name, err)
	}
	a, err := netip.ParseAddr(f[1])
	if err != nil {
		return Peer{}, fmt.Errorf("peer %q: address: %w", name, err)
	}
	return Peer{Name: name, PublicKey: k, Address: a, Networks: strings.Split(f[2], ",")}, nil
}
