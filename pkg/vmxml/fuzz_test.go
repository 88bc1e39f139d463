package vmxml

import (
	"strings"
	"testing"
)

// checkDomain asserts what an accepted domain promises the daemon: every
// NIC has a UUID interfaceid (no two the same), a network name, valid
// group names and a MAC that is empty or parses.
func checkDomain(t *testing.T, d *Domain) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range d.NICs {
		id := strings.ToLower(n.InterfaceID)
		if !uuidRE.MatchString(n.InterfaceID) || seen[id] {
			t.Fatalf("NIC interfaceid %q: not a UUID, or two NICs share it", n.InterfaceID)
		}
		seen[id] = true
		if !nameRE.MatchString(n.Network) {
			t.Fatalf("NIC %s: network %q", n.InterfaceID, n.Network)
		}
		for _, g := range n.SecurityGroups {
			if !nameRE.MatchString(g) {
				t.Fatalf("NIC %s: security group %q", n.InterfaceID, g)
			}
		}
		for _, ip := range n.IPs {
			if !ip.IsValid() {
				t.Fatalf("NIC %s: invalid IP", n.InterfaceID)
			}
		}
	}
}

// FuzzParse: any domain XML.
func FuzzParse(f *testing.F) {
	const a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	f.Add(head + meta(`<qn:interface id="`+a+`" network="blue" ip="10.0.0.5" security-groups="web, ssh"/><qn:interface mac="52:54:00:00:00:02" network="red"/>`) +
		`<devices>` + nicXML(a, "52:54:00:00:00:01") + nicXML(b, "52:54:00:00:00:02") + `<interface type='network'><source network='default'/></interface></devices></domain>`)
	f.Add(head + meta(`<qn:interface id="`+a+`" network="blue"/>`) + `<devices>` + nicXML(a, "") + nicXML(strings.ToUpper(a), "") + `</devices></domain>`)
	f.Add(head + `<devices><interface type='network'><source network='ovs' bridge='br-int'/></interface></devices></domain>`)
	f.Add(head + `<metadata><qn:nets xmlns:qn="` + Namespace + `"/></metadata><devices></devices></domain>`)
	f.Add(head + `<devices>`)
	f.Fuzz(func(t *testing.T, xml string) {
		if d, err := Parse([]byte(xml), "br-int"); err == nil {
			checkDomain(t, d)
		}
	})
}

// FuzzMetadata: one or two NICs described by fuzzed metadata attributes
// (the XML around them fixed, so the fuzzer spends its time on values).
func FuzzMetadata(f *testing.F) {
	const a = "aaaaaaaa-0000-4000-8000-000000000001"
	f.Add(a, a, "", "blue", "10.0.0.5", "fd00::5", "web,ssh", false)
	f.Add(a, "", "52:54:00:00:00:01", "blue", "", "", "", true)
	f.Add("port1", "port1", "", "blue", "", "", "", false)
	f.Add(a, a, "", "Blue Net", "10.0.0.300", "", "all, ,x", false)
	f.Fuzz(func(t *testing.T, ifaceID, metaID, metaMAC, network, ip, ip6, groups string, twice bool) {
		var m strings.Builder
		m.WriteString(`<qn:interface`)
		for _, kv := range [][2]string{{"id", metaID}, {"mac", metaMAC}, {"network", network}, {"ip", ip}, {"ip6", ip6}, {"security-groups", groups}} {
			if kv[1] != "" {
				m.WriteString(" " + kv[0] + `="` + escape(kv[1]) + `"`)
			}
		}
		m.WriteString(`/>`)
		nics := nicXML(escape(ifaceID), "52:54:00:00:00:01")
		if twice {
			nics += nicXML(escape(ifaceID), "52:54:00:00:00:02")
		}
		if d, err := Parse([]byte(head+meta(m.String())+`<devices>`+nics+`</devices></domain>`), "br-int"); err == nil {
			checkDomain(t, d)
		}
	})
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
