package ipam

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseSubnet(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{"10.0.0.0/24", ""},
		{"fd00::/64", ""},
		{"10.0.0.1/24", "host bits"},
		{"10.0.0.0/30", "too small"},
		{"fd00::/127", "too small"},
		{"banana", "not a CIDR"},
		{"10.0.0.0", "not a CIDR"},
	} {
		_, err := ParseSubnet("subnet4", tc.in)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "subnet4")) {
			t.Errorf("ParseSubnet(%q) = %v, want error containing %q and the field", tc.in, err, tc.err)
		}
	}
}

func TestParseGateway(t *testing.T) {
	p := netip.MustParsePrefix("10.1.0.0/24")
	for _, tc := range []struct {
		in, err string
	}{
		{"10.1.0.1", ""},
		{"10.1.0.254", ""},
		{"10.1.0.0", "network or broadcast"},
		{"10.1.0.255", "network or broadcast"},
		{"10.2.0.1", "outside"},
		{"x", "not an IP"},
	} {
		_, err := ParseGateway("gateway4", tc.in, p)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseGateway(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestRandomMACUnderPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		m, err := RandomMAC(DefaultMACPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if m[0] != 0x0a || m[1] != 0x51 || m[2] != 0x4e {
			t.Fatalf("MAC %s not under prefix", m)
		}
		seen[m.String()] = true
	}
	if len(seen) < 990 { // 2^24 MACs: a handful of collisions in 1,000 at most
		t.Fatalf("only %d distinct MACs in 1,000", len(seen))
	}
}
