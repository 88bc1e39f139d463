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
	good := head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue" ip="10.0.0.5" security-groups="web, ssh"/><qn:interface mac="52:54:00:00:00:02" network="red"/>`) +
		`<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "52:54:00:00:00:01") + nicXML("bbbbbbbb-0000-4000-8000-000000000002", "52:54:00:00:00:02") +
		`<interface type='network'><source network='default'/></interface></devices></domain>`
	d, err := Parse([]byte(good), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "vm1" || len(d.NICs) != 2 || d.NICs[0].InterfaceID != "aaaaaaaa-0000-4000-8000-000000000001" || d.NICs[0].Network != "blue" ||
		d.NICs[0].IPs[0].String() != "10.0.0.5" || strings.Join(d.NICs[0].SecurityGroups, ",") != "web,ssh" ||
		d.NICs[1].Network != "red" || d.NICs[1].MAC != "52:54:00:00:00:02" {
		t.Fatalf("parsed %+v", d)
	}
	// A domain without QuantumNet NICs is fine.
	if d, err := Parse([]byte(head+`<devices><interface type='network'><source network='default'/></interface></devices></domain>`), "br-int"); err != nil || len(d.NICs) != 0 {
		t.Fatalf("no NICs: %v %v", d, err)
	}
	for _, tc := range []struct{ name, xml, want string }{
		{"no metadata", head + `<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "") + `</devices></domain>`, "domain vm1: NIC aaaaaaaa-0000-4000-8000-000000000001: on br-int but not described"},
		{"no virtualport", head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue"/>`) + `<devices>` + nicXML("-", "52:54:00:00:00:01") + `</devices></domain>`, "mac 52:54:00:00:00:01): needs <virtualport type='openvswitch'>"},
		{"no network", head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001"/>`) + `<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "") + `</devices></domain>`, "NIC aaaaaaaa-0000-4000-8000-000000000001: <quantumnet:interface> has no network attribute"},
		{"bad ip", head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue" ip="10.0.0.300"/>`) + `<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "") + `</devices></domain>`, `NIC aaaaaaaa-0000-4000-8000-000000000001: ip "10.0.0.300" is not an IP address`},
		{"stray metadata", head + meta(`<qn:interface id="zzzz" network="blue"/>`) + `<devices></devices></domain>`, `id="zzzz" mac="">`},
		{"unknown element", head + `<metadata><qn:nets xmlns:qn="` + Namespace + `"/></metadata><devices></devices></domain>`, "unknown QuantumNet element <nets>"},
		{"broken xml", head + `<devices>`, "domain XML"},
		{"described twice", head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue"/><qn:interface mac="52:54:00:00:00:01" network="red"/>`) + `<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "52:54:00:00:00:01") + `</devices></domain>`, "described twice"},
	} {
		_, err := Parse([]byte(tc.xml), "br-int")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestChecksumOffload(t *testing.T) {
	off := strings.Replace(nicXML("bbbbbbbb-0000-4000-8000-000000000002", ""), `<model type='virtio'/>`, `<model type='virtio'/><driver name='qemu'><host csum='off'/></driver>`, 1)
	x := head + meta(`<qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue"/><qn:interface id="bbbbbbbb-0000-4000-8000-000000000002" network="blue"/>`) +
		`<devices>` + nicXML("aaaaaaaa-0000-4000-8000-000000000001", "") + off + `</devices></domain>`
	d, err := Parse([]byte(x), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	if !d.NICs[0].ChecksumOffload || d.NICs[1].ChecksumOffload {
		t.Fatalf("checksum offload: %v %v, want true (default) and false (<host csum='off'/>)", d.NICs[0].ChecksumOffload, d.NICs[1].ChecksumOffload)
	}
}

// What would start a VM without its port, or hand the daemon junk, is
// refused with an error naming the NIC and the field.
func TestRefusals(t *testing.T) {
	const id = "aaaaaaaa-0000-4000-8000-000000000001"
	described := meta(`<qn:interface id="` + id + `" network="blue"/>`)
	netNIC := func(attrs, inner string) string {
		return `<interface type='network'><source network='ovs' ` + attrs + `/>` + inner + `<mac address='52:54:00:00:00:09'/></interface>`
	}
	ovsPort := `<virtualport type='openvswitch'><parameters interfaceid='` + id + `'/></virtualport>`
	for _, tc := range []struct{ name, xml, want string }{
		{"network type on br-int", head + `<devices>` + netNIC("bridge='br-int'", "") + `</devices></domain>`,
			"domain vm1: NIC #1 (network ovs): <interface type='network'> is not attached by QuantumNet"},
		{"network type described by id", head + described + `<devices>` + netNIC("", ovsPort) + `</devices></domain>`,
			"NIC #1 (network ovs): <interface type='network'>"},
		{"network type described by mac", head + meta(`<qn:interface mac="52:54:00:00:00:09" network="blue"/>`) + `<devices>` + netNIC("", "") + `</devices></domain>`,
			"NIC #1 (network ovs): <interface type='network'>"},
		{"non-UUID interfaceid", head + meta(`<qn:interface id="port1" network="blue"/>`) + `<devices>` + nicXML("port1", "52:54:00:00:00:01") + `</devices></domain>`,
			`domain vm1: NIC #1 (bridge br-int, mac 52:54:00:00:00:01): interfaceid "port1" is not a UUID`},
		{"junk group", head + meta(`<qn:interface id="`+id+`" network="blue" security-groups="web,Bad Group!"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`,
			`NIC ` + id + `: security-groups: "Bad Group!" is not a security group name`},
		{"long group", head + meta(`<qn:interface id="`+id+`" network="blue" security-groups="`+strings.Repeat("a", 33)+`"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`,
			`NIC ` + id + `: security-groups: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is not`},
		{"junk network", head + meta(`<qn:interface id="`+id+`" network="../blue"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`,
			`NIC ` + id + `: network "../blue" is not a network name`},
	} {
		_, err := Parse([]byte(tc.xml), "br-int")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// A type='network' NIC elsewhere (libvirt's NAT network) stays libvirt's.
	other := head + described + `<devices>` + nicXML(id, "") + netNIC("bridge='virbr0'", "") + `</devices></domain>`
	if d, err := Parse([]byte(other), "br-int"); err != nil || len(d.NICs) != 1 {
		t.Fatalf("a NAT NIC beside a QuantumNet one: %v, %v", d, err)
	}
}

// Two NICs may not share a logical port (found by FuzzMetadata: a second
// NIC with the first's interfaceid, in upper case, was accepted).
func TestOnePortPerNIC(t *testing.T) {
	const a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	for _, tc := range []struct{ name, xml, want string }{
		{"same interfaceid", head + meta(`<qn:interface id="`+a+`" network="blue"/>`) + `<devices>` + nicXML(a, "52:54:00:00:00:01") + nicXML(strings.ToUpper(a), "52:54:00:00:00:02") + `</devices></domain>`,
			"NIC #1 has the same interfaceid"},
		{"one description for two NICs", head + meta(`<qn:interface id="`+a+`" mac="52:54:00:00:00:02" network="blue"/>`) + `<devices>` + nicXML(a, "52:54:00:00:00:01") + nicXML(b, "52:54:00:00:00:02") + `</devices></domain>`,
			"NIC " + b + ": its <quantumnet:interface> (id \"" + a + "\", mac \"52:54:00:00:00:02\") already describes another NIC"},
	} {
		if _, err := Parse([]byte(tc.xml), "br-int"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestParseLoadBalancers: load-balancers="web, api" on a NIC's
// <quantumnet:interface> is the list its port joins; a junk name is
// refused naming the NIC and the attribute.
func TestParseLoadBalancers(t *testing.T) {
	const id = "aaaaaaaa-0000-4000-8000-000000000001"
	x := head + meta(`<qn:interface id="`+id+`" network="blue" load-balancers="web, api,,"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`
	d, err := Parse([]byte(x), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.NICs) != 1 || strings.Join(d.NICs[0].LoadBalancers, ",") != "web,api" {
		t.Fatalf("parsed %+v", d.NICs)
	}
	none := head + meta(`<qn:interface id="`+id+`" network="blue"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`
	if d, err := Parse([]byte(none), "br-int"); err != nil || d.NICs[0].LoadBalancers != nil {
		t.Fatalf("no load-balancers: %+v, %v", d, err)
	}
	bad := head + meta(`<qn:interface id="`+id+`" network="blue" load-balancers="web,Bad LB"/>`) + `<devices>` + nicXML(id, "") + `</devices></domain>`
	want := `NIC ` + id + `: load-balancers: "Bad LB" is not a load balancer name`
	if _, err := Parse([]byte(bad), "br-int"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("junk load balancer: %v, want an error containing %q", err, want)
	}
}
