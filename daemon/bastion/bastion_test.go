package bastion

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"b1", true}, {"ops-a", true}, {"", false}, {"B1", false}, {"-a", false}, {"abcdefghijkl", false}, {"abcdefghijk", true}} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errs.Invalid) {
			t.Errorf("ValidateName(%q): kind of %v", tc.name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKey("public_key", k.Public().String())
	if err != nil || got != k.Public() {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []string{"", "abc", "not base64!!", strings.Repeat("A", 43) + "=", "AAAA"} {
		_, err := ParseKey("public_key", bad)
		if !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "public_key") {
			t.Errorf("ParseKey(%q) = %v, want an Invalid error naming public_key", bad, err)
		}
	}
}

// A known X25519 vector (RFC 7748 section 6.1): Alice's keys.
func TestPublicKnownVector(t *testing.T) {
	priv := mustHexKey(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	want := mustHexKey(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	if got := priv.Public(); got != want {
		t.Fatalf("Public = %x, want %x", got, want)
	}
}

func mustHexKey(t *testing.T, s string) Key {
	t.Helper()
	var k Key
	for i := range k {
		var b byte
		for _, c := range s[2*i : 2*i+2] {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= byte(c - '0')
			default:
				b |= byte(c-'a') + 10
			}
		}
		k[i] = b
	}
	return k
}

func TestListenPort(t *testing.T) {
	if p, err := ListenPort(0); err != nil || p != DefaultListenPort {
		t.Fatalf("ListenPort(0) = %d %v", p, err)
	}
	if _, err := ListenPort(70000); !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "listen_port") {
		t.Fatalf("ListenPort(70000) = %v", err)
	}
	others := []Bastion{{Name: "a", Router: "r1", ListenPort: 51820}}
	err := CheckListenPort("r1", 51820, others)
	if !errors.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "listen_port: 51820 is in use") {
		t.Fatalf("same router, same port: %v", err)
	}
	if err := CheckListenPort("r2", 51820, others); err != nil {
		t.Fatalf("other router: %v", err)
	}
}

func TestValidateGrant(t *testing.T) {
	known := func(n string) string {
		if n == "blue" || n == "red" {
			return ""
		}
		if n == "green" {
			return "not attached to router r1"
		}
		return "no such network"
	}
	got, err := ValidateGrant([]string{"red", "blue", "red", " "}, known)
	if err != nil || strings.Join(got, ",") != "blue,red" {
		t.Fatalf("good grant: %v %v", got, err)
	}
	_, err = ValidateGrant([]string{"blue", "nope", "green"}, known)
	if !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "networks: cannot grant nope (no such network), green (not attached to router r1)") {
		t.Fatalf("unknown networks: %v", err)
	}
	if _, err := ValidateGrant(nil, known); !errors.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "networks") {
		t.Fatalf("empty grant: %v", err)
	}
}

func TestAllocate(t *testing.T) {
	r, err := AllocateRange([]netip.Prefix{netip.MustParsePrefix("100.96.0.0/24"), netip.MustParsePrefix("100.96.2.0/24")})
	if err != nil || r.String() != "100.96.1.0/24" {
		t.Fatalf("AllocateRange = %v %v", r, err)
	}
	b := Bastion{Name: "b1", TunnelRange: netip.MustParsePrefix("100.96.0.0/24")}
	if b.Self().String() != "100.96.0.1" {
		t.Fatalf("Self = %v", b.Self())
	}
	a, _ := AllocateAddress(b)
	if a.String() != "100.96.0.2" {
		t.Fatalf("first peer = %v", a)
	}
	b.Peers = []Peer{{Name: "x", Address: netip.MustParseAddr("100.96.0.2")}, {Name: "y", Address: netip.MustParseAddr("100.96.0.4")}}
	if a, _ := AllocateAddress(b); a.String() != "100.96.0.3" {
		t.Fatalf("hole = %v", a)
	}
	b.TunnelRange = netip.MustParsePrefix("100.96.0.0/30") // .1 self, .2 x, .3 is the last
	b.Peers = b.Peers[:1]
	if a, _ := AllocateAddress(b); a.String() != "100.96.0.3" {
		t.Fatalf("last = %v", a)
	}
	b.Peers = append(b.Peers, Peer{Name: "z", Address: netip.MustParseAddr("100.96.0.3")})
	if _, err := AllocateAddress(b); !errors.Is(err, errs.Exhausted) {
		t.Fatalf("full: %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	k, _ := GenerateKey()
	pk, _ := GenerateKey()
	b := Bastion{Name: "b1", Router: "r1", ListenPort: 51820, PrivateKey: k, TunnelRange: netip.MustParsePrefix("100.96.0.0/24"),
		Peers: []Peer{{Name: "alice", Networks: []string{"blue", "red"}, PublicKey: pk.Public(), Address: netip.MustParseAddr("100.96.0.2")}}}
	got, err := Decode(Encode(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != b.Name || got.Router != b.Router || got.ListenPort != b.ListenPort || got.PrivateKey != k ||
		got.TunnelRange != b.TunnelRange || len(got.Peers) != 1 || EncodePeer(got.Peers[0]) != EncodePeer(b.Peers[0]) {
		t.Fatalf("round trip: %+v", got)
	}
	ids := Encode(b)
	ids["quantumnet:bastion-peer:bob"] = "garbage"
	if _, err := Decode(ids); err == nil {
		t.Fatal("a bad peer record decoded")
	}
}

func TestRender(t *testing.T) {
	priv := mustHexKey(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	srv := mustHexKey(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	got := Render(PeerConfig{Peer: "alice", Bastion: "b1", PrivateKey: priv, Address: netip.MustParseAddr("100.96.0.2"),
		ServerKey: srv, Endpoint: "172.16.0.10:51820",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24"), netip.MustParsePrefix("10.2.0.0/24")}})
	want := `# QuantumNet bastion b1, peer alice: keep this file secret; the private key is not stored anywhere else.
[Interface]
PrivateKey = dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=
Address = 100.96.0.2/32

[Peer]
PublicKey = hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
Endpoint = 172.16.0.10:51820
AllowedIPs = 10.1.0.0/24, 10.2.0.0/24
PersistentKeepalive = 25
`
	if got != want {
		t.Fatalf("Render:\n%s\nwant:\n%s", got, want)
	}
}
