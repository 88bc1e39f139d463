package vmxml

import (
	"strings"
	"testing"
)

const head = `<domain type='qemu'><name>vm1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>`

func nicXML(id, mac string) string {
	s := `<interface type='bridge'><source bridge='br-int'/>`
	if id != "-" {
		s += `<virtualport type='openvswitch'><parameters interfaceid='` + id + `'/></virtualport>`
	}
	if mac != "" {
		s += `<mac address='` + mac + `'/>`
	}
	return s + `<model type='virtio'/></interface>`
}

func meta(inner string) string {
	return `<metadata><qn:network xmlns:qn="` + Namespace + `">` + inner + `</qn:network></metadata>`
}

func TestParse(t *testing.T) {
	good := head + meta(`<qn:interface id="aaaa" network="blue" ip="10.0.0.5" security-groups="web, ssh"/><qn:interface mac="52:54:00:00:00:02" network="red"/>`) +
		`<devices>` + nicXML("aaaa", "52:54:00:00:00:01") + nicXML("bbbb", "52:54:00:00:00:02") +
		`<interface type='network'><source network='default'/></interface></devices></domain>`
	d, err := Parse([]byte(good), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "vm1" || len(d.NICs) != 2 || d.NICs[0].InterfaceID != "aaaa" || d.NICs[0].Network != "blue" ||
		d.NICs[0].IPs[0].String() != "10.0.0.5" || strings.Join(d.NICs[0].SecurityGroups, ",") != "web,ssh" ||
		d.NICs[1].Network != "red" || d.NICs[1].MAC != "52:54:00:00:00:02" {
		t.Fatalf("parsed %+v", d)
	}
	// A domain without QuantumNet NICs is fine.
	if d, err := Parse([]byte(head+`<devices><interface type='network'><source network='default'/></interface></devices></domain>`), "br-int"); err != nil || len(d.NICs) != 0 {
		t.Fatalf("no NICs: %v %v", d, err)
	}
	for _, tc := range []struct{ name, xml, want string }{
		{"no metadata", head + `<devices>` + nicXML("aaaa", "") + `</devices></domain>`, "domain vm1: NIC aaaa: on br-int but not described"},
		{"no virtualport", head + meta(`<qn:interface id="aaaa" network="blue"/>`) + `<devices>` + nicXML("-", "52:54:00:00:00:01") + `</devices></domain>`, "mac 52:54:00:00:00:01): needs <virtualport type='openvswitch'>"},
		{"no network", head + meta(`<qn:interface id="aaaa"/>`) + `<devices>` + nicXML("aaaa", "") + `</devices></domain>`, "NIC aaaa: <quantumnet:interface> has no network attribute"},
		{"bad ip", head + meta(`<qn:interface id="aaaa" network="blue" ip="10.0.0.300"/>`) + `<devices>` + nicXML("aaaa", "") + `</devices></domain>`, `NIC aaaa: ip "10.0.0.300" is not an IP address`},
		{"stray metadata", head + meta(`<qn:interface id="zzzz" network="blue"/>`) + `<devices></devices></domain>`, `id="zzzz" mac="">`},
		{"unknown element", head + `<metadata><qn:nets xmlns:qn="` + Namespace + `"/></metadata><devices></devices></domain>`, "unknown QuantumNet element <nets>"},
		{"broken xml", head + `<devices>`, "domain XML"},
		{"described twice", head + meta(`<qn:interface id="aaaa" network="blue"/><qn:interface mac="52:54:00:00:00:01" network="red"/>`) + `<devices>` + nicXML("aaaa", "52:54:00:00:00:01") + `</devices></domain>`, "described twice"},
	} {
		_, err := Parse([]byte(tc.xml), "br-int")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestChecksumOffload(t *testing.T) {
	off := strings.Replace(nicXML("bbbb", ""), `<model type='virtio'/>`, `<model type='virtio'/><driver name='qemu'><host csum='off'/></driver>`, 1)
	x := head + meta(`<qn:interface id="aaaa" network="blue"/><qn:interface id="bbbb" network="blue"/>`) +
		`<devices>` + nicXML("aaaa", "") + off + `</devices></domain>`
	d, err := Parse([]byte(x), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	if !d.NICs[0].ChecksumOffload || d.NICs[1].ChecksumOffload {
		t.Fatalf("checksum offload: %v %v, want true (default) and false (<host csum='off'/>)", d.NICs[0].ChecksumOffload, d.NICs[1].ChecksumOffload)
	}
}
