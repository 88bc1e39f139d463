package wg

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// TestParseUAPI: the lines Start and SetPeers write become the same
// wgctrl Config the kernel path applies.
func TestParseUAPI(t *testing.T) {
	priv, _ := wgtypes.GeneratePrivateKey()
	a, b := priv.PublicKey(), wgtypes.Key{1}
	h := func(k wgtypes.Key) string { return hex.EncodeToString(k[:]) }
	cfg, err := parseUAPI("private_key=" + h(priv) + "\nlisten_port=51820\n")
	if err != nil || cfg.PrivateKey == nil || *cfg.PrivateKey != priv || cfg.ListenPort == nil || *cfg.ListenPort != 51820 {
		t.Fatalf("device lines: %+v, %v", cfg, err)
	}
	cfg, err = parseUAPI("public_key=" + h(a) + "\nremove=true\npublic_key=" + h(b) +
		"\nreplace_allowed_ips=true\nallowed_ip=100.96.0.2/32\n")
	if err != nil || len(cfg.Peers) != 2 {
		t.Fatalf("peer lines: %+v, %v", cfg, err)
	}
	if p := cfg.Peers[0]; p.PublicKey != a || !p.Remove || len(p.AllowedIPs) != 0 {
		t.Errorf("removed peer: %+v", p)
	}
	if p := cfg.Peers[1]; p.PublicKey != b || p.Remove || !p.ReplaceAllowedIPs || len(p.AllowedIPs) != 1 ||
		p.AllowedIPs[0].String() != "100.96.0.2/32" {
		t.Errorf("granted peer: %+v", p)
	}
	for _, bad := range []string{"listen_port=70000", "public_key=zz", "allowed_ip=100.96.0.2/32", "endpoint=1.2.3.4:5", "nonsense"} {
		if _, err := parseUAPI(bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if !strings.Contains(err.Error(), "wireguard config") {
			t.Errorf("%q: %v does not say where", bad, err)
		}
	}
}

// TestFormatUAPI: what a kernel device reports reads back as the
// userspace device's stats do.
func TestFormatUAPI(t *testing.T) {
	k := wgtypes.Key{7}
	seen := time.Unix(1_800_000_000, 0)
	st := parseStats(formatUAPI(&wgtypes.Device{Peers: []wgtypes.Peer{
		{PublicKey: k, LastHandshakeTime: seen, ReceiveBytes: 10, TransmitBytes: 20},
		{PublicKey: wgtypes.Key{8}},
	}}))
	if len(st) != 2 {
		t.Fatalf("stats: %+v", st)
	}
	for key, s := range st {
		if key[0] == 7 && (!s.LastHandshake.Equal(seen) || s.RX != 10 || s.TX != 20) {
			t.Errorf("peer 7: %+v", s)
		}
		if key[0] == 8 && !s.LastHandshake.IsZero() {
			t.Errorf("peer 8 never shook hands: %+v", s)
		}
	}
}
