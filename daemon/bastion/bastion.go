// Package bastion is the pure half of the WireGuard bastion: names, keys,
// listen ports and grants are validated here, peers get their tunnel
// addresses here, records are encoded for Northbound's external_ids here,
// and a peer's wg-quick config is rendered here. No I/O: the Northbound
// store is bastion/nbstore, the data plane is bastion/wg.
package bastion

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// DefaultListenPort is WireGuard's usual UDP port.
const DefaultListenPort = 51820

// Bastion is a bastion as stored.
type Bastion struct {
	Name        string
	Router      string
	ListenPort  int
	PrivateKey  Key          // stored in Northbound so another chassis can take over
	TunnelRange netip.Prefix // peers' addresses; the bastion holds the first host address
	Peers       []Peer       // sorted by name
	// read from elsewhere
	Endpoint string // ADDRESS:PORT on the external network ("" without a gateway)
	Active   string // chassis where the endpoint runs
}

// PeerStat is what a running device knows of a peer.
type PeerStat struct {
	LastHandshake time.Time
	RX, TX        uint64
}

// Peer is an operator's workstation allowed into granted networks.
type Peer struct {
	Name      string
	Networks  []string // granted networks, sorted
	PublicKey Key
	Address   netip.Addr // its tunnel address
}

// SecurityGroup is the group whose address set holds the peers' tunnel
// addresses, for rules to name (from sg:bastion-NAME).
func SecurityGroup(name string) string { return "bastion-" + name }

// IfName is the WireGuard interface (and namespace) name of a bastion.
func IfName(name string) string { return "qnb-" + name }

// Self is the bastion's own tunnel address (the first host of the range).
func (b Bastion) Self() netip.Addr { return b.TunnelRange.Addr().Next() }

// Peer returns the peer called name.
func (b Bastion) Peer(name string) (Peer, bool) {
	i := slices.IndexFunc(b.Peers, func(p Peer) bool { return p.Name == name })
	if i < 0 {
		return Peer{}, false
	}
	return b.Peers[i], true
}

// names: 1-11 characters so that qnb-NAME fits an interface name (15).
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,9}[a-z0-9])?$`)

// peer names: like network names.
var peerRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,30}[a-z0-9])?$`)

// ValidateName checks a bastion name.
func ValidateName(name string) error {
	if name == "" {
		return errs.New(errs.Invalid, "bastion: name is required")
	}
	if !nameRE.MatchString(name) {
		return errs.New(errs.Invalid, fmt.Sprintf("bastion: name %q is invalid: use 1-11 lower-case letters, digits or '-', starting and ending with a letter or digit (it names the interface qnb-NAME)", name))
	}
	return nil
}

// ValidatePeerName checks a peer name.
func ValidatePeerName(name string) error {
	if name == "" {
		return errs.New(errs.Invalid, "peer: name is required")
	}
	if !peerRE.MatchString(name) {
		return errs.New(errs.Invalid, fmt.Sprintf("peer: name %q is invalid: use 1-32 lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit", name))
	}
	return nil
}

// ListenPort returns the port to use for p (0: the default), or an error
// naming listen_port.
func ListenPort(p uint32) (int, error) {
	if p == 0 {
		return DefaultListenPort, nil
	}
	if p > 65535 {
		return 0, errs.New(errs.Invalid, fmt.Sprintf("listen_port: %d is not a UDP port (1-65535)", p))
	}
	return int(p), nil
}

// PortTaken is the error of a listen port used by another bastion or
// process on the endpoint's address.
func PortTaken(port int, by string) error {
	return errs.New(errs.Conflict, fmt.Sprintf("listen_port: %d is in use (%s): choose another with --listen-port", port, by))
}

// CheckListenPort fails if another bastion on the same router listens on
// port (they share the router's external address).
func CheckListenPort(router string, port int, others []Bastion) error {
	for _, o := range others {
		if o.Router == router && o.ListenPort == port {
			return PortTaken(port, "by bastion "+o.Name+" on router "+router)
		}
	}
	return nil
}

// ValidateGrant checks the granted networks: at least one, each known
// (known reports whether a network exists and can be routed to from the
// bastion's router: "" if so, else why not). It returns them sorted
// without duplicates.
func ValidateGrant(networks []string, known func(string) string) ([]string, error) {
	var out []string
	for _, n := range networks {
		n = strings.TrimSpace(n)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errs.New(errs.Invalid, "networks: a peer needs at least one granted network (--networks a,b)")
	}
	var bad []string
	for _, n := range out {
		if why := known(n); why != "" {
			bad = append(bad, n+" ("+why+")")
		}
	}
	if len(bad) > 0 {
		return nil, errs.New(errs.Invalid, "networks: cannot grant "+strings.Join(bad, ", "))
	}
	slices.Sort(out)
	return out, nil
}

// Key is a Curve25519 key (WireGuard's).
type Key [32]byte

// String is the key in WireGuard's base64 form.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports an unset key.
func (k Key) IsZero() bool { return k == Key{} }

// ParseKey parses a base64 WireGuard key; field names it in the error.
func ParseKey(field, s string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(k) {
		return k, errs.New(errs.Invalid, fmt.Sprintf("%s: %q is not a WireGuard key (44 characters of base64 encoding 32 bytes, as printed by wg genkey / wg pubkey)", field, s))
	}
	copy(k[:], b)
	if k.IsZero() {
		return k, errs.New(errs.Invalid, field+": the all-zero key is not a key")
	}
	return k, nil
}

// GenerateKey returns a new private key.
func GenerateKey() (Key, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	var k Key
	copy(k[:], priv.Bytes())
	return k, nil
}

// Public is the public key of the private key k.
func (k Key) Public() Key {
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil { // only on a wrong length, which a Key cannot have
		panic(err)
	}
	var p Key
	copy(p[:], priv.PublicKey().Bytes())
	return p
}
