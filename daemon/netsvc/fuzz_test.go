package netsvc

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzReverseName: the PTR owner of any address has one label per byte
// (IPv4) or nibble (IPv6), least significant first, and reads back to the
// address.
func FuzzReverseName(f *testing.F) {
	f.Add([]byte{10, 0, 0, 5})
	f.Add([]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5}) // IPv4-mapped: the IPv4 name
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		name := ReverseName(a)
		want := a.Unmap()
		var got netip.Addr
		if labels, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok && want.Is4() {
			l := strings.Split(labels, ".")
			var v [4]byte
			for i := 0; i < 4 && len(l) == 4; i++ {
				n, err := strconv.ParseUint(l[3-i], 10, 8)
				if err != nil || strconv.FormatUint(n, 10) != l[3-i] {
					t.Fatalf("ReverseName(%s) = %q: label %q", a, name, l[3-i])
				}
				v[i] = byte(n)
			}
			got = netip.AddrFrom4(v)
		} else if labels, ok := strings.CutSuffix(name, ".ip6.arpa"); ok && want.Is6() {
			l := strings.Split(labels, ".")
			var v [16]byte
			for i := 0; i < 32 && len(l) == 32; i++ {
				n, err := strconv.ParseUint(l[31-i], 16, 4)
				if err != nil || len(l[31-i]) != 1 {
					t.Fatalf("ReverseName(%s) = %q: label %q", a, name, l[31-i])
				}
				v[i/2] |= byte(n) << (4 * (1 - i%2))
			}
			got = netip.AddrFrom16(v)
		}
		if got != want.WithZone("") {
			t.Fatalf("ReverseName(%s) = %q, reads back as %s", a, name, got)
		}
	})
}
