// Package vmxml reads the QuantumNet contract out of a libvirt domain XML:
// which NICs are QuantumNet's (bridge br-int, an openvswitch virtualport
// with an interfaceid) and, from the domain's <metadata>, which network,
// address, security groups and load balancers each gets. It does no I/O.
package vmxml

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// Namespace is the XML namespace of QuantumNet's domain metadata.
const Namespace = "https://quantumnet.dev/xmlns/libvirt-domain/1"

// Metadata is <quantumnet:network> inside the domain's <metadata>:
//
//	<metadata>
//	  <quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
//	    <quantumnet:interface id="6f1c...-uuid" network="blue" ip="10.0.0.5" security-groups="web,ssh" load-balancers="web"/>
//	  </quantumnet:network>
//	</metadata>
//
// An interface is matched to a NIC by its interfaceid (id) or its MAC (mac).
type Metadata struct {
	XMLName    xml.Name       `xml:"network"`
	Interfaces []MetaIfaceXML `xml:"interface"`
}

// MetaIfaceXML is one <quantumnet:interface>.
type MetaIfaceXML struct {
	ID             string `xml:"id,attr"`
	MAC            string `xml:"mac,attr"`
	Network        string `xml:"network,attr"`
	IP             string `xml:"ip,attr"`
	IP6            string `xml:"ip6,attr"`
	SecurityGroups string `xml:"security-groups,attr"`
	LoadBalancers  string `xml:"load-balancers,attr"`
}

// NIC is one of the domain's QuantumNet interfaces.
type NIC struct {
	InterfaceID    string // libvirt interfaceid: the logical port's name
	MAC            string // from <mac address>, may be empty (libvirt generates one)
	Network        string
	IPs            []netip.Addr
	SecurityGroups []string
	LoadBalancers  []string // load balancers the NIC's port joins as a member
	// ChecksumOffload: the guest may hand the NIC packets with partial
	// checksums (unless <driver><host csum='off'/></driver>). On OVS's
	// userspace datapath nothing completes them: the guest's TCP and UDP
	// (DNS included) arrive with bad checksums.
	ChecksumOffload bool
}

// Domain is what the contract yields.
type Domain struct {
	Name, UUID string
	NICs       []NIC
}

// Parse reads domXML. bridge is the integration bridge (br-int): every NIC
// on it must be described by the metadata. Errors name the domain, the NIC
// and the problem: the hook shows them and the VM does not start.
func Parse(domXML []byte, bridge string) (*Domain, error) {
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(string(domXML)); err != nil {
		return nil, fmt.Errorf("domain XML: %v", err)
	}
	d := &Domain{Name: dom.Name, UUID: dom.UUID}
	meta, err := parseMetadata(&dom)
	if err != nil {
		return nil, fmt.Errorf("domain %s: %w", d.Name, err)
	}
	used := make([]bool, len(meta))
	ids := map[string]int{} // lower-case interfaceid -> NIC number
	if dom.Devices == nil {
		return d, unusedMeta(d.Name, meta, used)
	}
	for i, ifc := range dom.Devices.Interfaces {
		mac := ""
		if ifc.MAC != nil {
			mac = strings.ToLower(ifc.MAC.Address)
		}
		if err := refuseNetworkType(d.Name, i, &ifc, mac, bridge, meta); err != nil {
			return nil, err
		}
		if ifc.Source == nil || ifc.Source.Bridge == nil || ifc.Source.Bridge.Bridge != bridge {
			continue
		}
		id, err := interfaceID(fmt.Sprintf("domain %s: NIC #%d (bridge %s", d.Name, i+1, bridge), &ifc, mac)
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("domain %s: NIC %s", d.Name, id)
		if n, dup := ids[strings.ToLower(id)]; dup {
			return nil, fmt.Errorf("%s: NIC #%d has the same interfaceid (it names the logical port: give each NIC its own)", what, n)
		}
		ids[strings.ToLower(id)] = i + 1
		k, err := matchMeta(what, id, mac, meta)
		if err != nil {
			return nil, err
		}
		if k < 0 {
			return nil, fmt.Errorf("%s: on %s but not described in <metadata><quantumnet:network xmlns:quantumnet=%q><quantumnet:interface id=%q network=\"...\"/>", what, bridge, Namespace, id)
		}
		if used[k] {
			return nil, fmt.Errorf("%s: its <quantumnet:interface> (id %q, mac %q) already describes another NIC", what, meta[k].ID, meta[k].MAC)
		}
		used[k] = true
		nic := NIC{InterfaceID: id, MAC: mac, ChecksumOffload: ifc.Driver == nil || ifc.Driver.Host == nil || ifc.Driver.Host.CSum != "off"}
		if err := nic.describe(what, meta[k]); err != nil {
			return nil, err
		}
		d.NICs = append(d.NICs, nic)
	}
	return d, unusedMeta(d.Name, meta, used)
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// Network and security group names (as the daemon's network and
	// secgroup packages check them; the daemon checks the rest).
	nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)
)

const nameRule = "1-32 of a-z, 0-9, '-', '_', starting and ending with a letter or digit"

// refuseNetworkType refuses an <interface type='network'> that libvirt puts
// on the integration bridge, or that the metadata describes: QuantumNet
// never sees such a NIC, and the VM would start without a port.
func refuseNetworkType(dom string, i int, ifc *libvirtxml.DomainInterface, mac, bridge string, meta []MetaIfaceXML) error {
	if ifc.Source == nil || ifc.Source.Network == nil {
		return nil
	}
	id := ""
	if ifc.VirtualPort != nil && ifc.VirtualPort.Params != nil && ifc.VirtualPort.Params.OpenVSwitch != nil {
		id = ifc.VirtualPort.Params.OpenVSwitch.InterfaceID
	}
	if k, err := matchMeta("", id, mac, meta); ifc.Source.Network.Bridge != bridge && k < 0 && err == nil {
		return nil
	}
	return fmt.Errorf("domain %s: NIC #%d (network %s): <interface type='network'> is not attached by QuantumNet (the VM would start without a port): use <interface type='bridge'><source bridge='%s'/><virtualport type='openvswitch'><parameters interfaceid='UUID'/></virtualport>",
		dom, i+1, ifc.Source.Network.Network, bridge)
}

// interfaceID is the NIC's openvswitch interfaceid, a UUID; what names the
// NIC (without the closing parenthesis).
func interfaceID(what string, ifc *libvirtxml.DomainInterface, mac string) (string, error) {
	if mac != "" {
		what += ", mac " + mac
	}
	what += ")"
	if ifc.VirtualPort == nil || ifc.VirtualPort.Params == nil || ifc.VirtualPort.Params.OpenVSwitch == nil {
		return "", fmt.Errorf("%s: needs <virtualport type='openvswitch'><parameters interfaceid='UUID'/></virtualport>", what)
	}
	id := ifc.VirtualPort.Params.OpenVSwitch.InterfaceID
	if id == "" {
		return "", fmt.Errorf("%s: <virtualport type='openvswitch'> has no interfaceid (give one: it names the logical port, and must not change)", what)
	}
	if !uuidRE.MatchString(id) {
		return "", fmt.Errorf("%s: interfaceid %q is not a UUID (it names the logical port: give a UUID, e.g. from uuidgen)", what, id)
	}
	return id, nil
}

// matchMeta is the index of the metadata describing the NIC (-1: none).
func matchMeta(what, id, mac string, meta []MetaIfaceXML) (int, error) {
	k := -1
	for j, m := range meta {
		if (m.ID != "" && strings.EqualFold(m.ID, id)) || (m.MAC != "" && mac != "" && strings.EqualFold(m.MAC, mac)) {
			if k >= 0 {
				return -1, fmt.Errorf("%s: described twice in <quantumnet:network>", what)
			}
			k = j
		}
	}
	return k, nil
}

// describe fills the NIC from its <quantumnet:interface> m.
func (nic *NIC) describe(what string, m MetaIfaceXML) error {
	if m.Network == "" {
		return fmt.Errorf("%s: <quantumnet:interface> has no network attribute", what)
	}
	if !nameRE.MatchString(m.Network) {
		return fmt.Errorf("%s: network %q is not a network name (%s)", what, m.Network, nameRule)
	}
	nic.Network = m.Network
	for _, s := range []string{m.IP, m.IP6} {
		if s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%s: ip %q is not an IP address", what, s)
		}
		nic.IPs = append(nic.IPs, ip)
	}
	if m.MAC != "" {
		if _, err := net.ParseMAC(m.MAC); err != nil {
			return fmt.Errorf("%s: mac %q is not a MAC address", what, m.MAC)
		}
	}
	for _, sg := range strings.Split(m.SecurityGroups, ",") {
		if sg = strings.TrimSpace(sg); sg == "" {
			continue
		}
		if !nameRE.MatchString(sg) {
			return fmt.Errorf("%s: security-groups: %q is not a security group name (%s)", what, sg, nameRule)
		}
		nic.SecurityGroups = append(nic.SecurityGroups, sg)
	}
	for _, n := range strings.Split(m.LoadBalancers, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !nameRE.MatchString(n) {
			return fmt.Errorf("%s: load-balancers: %q is not a load balancer name (%s)", what, n, nameRule)
		}
		nic.LoadBalancers = append(nic.LoadBalancers, n)
	}
	return nil
}

func unusedMeta(dom string, meta []MetaIfaceXML, used []bool) error {
	for i, m := range meta {
		if !used[i] {
			return fmt.Errorf("domain %s: <quantumnet:interface id=%q mac=%q> matches no NIC on the integration bridge", dom, m.ID, m.MAC)
		}
	}
	return nil
}

// parseMetadata finds <quantumnet:network> in the domain's metadata.
func parseMetadata(dom *libvirtxml.Domain) ([]MetaIfaceXML, error) {
	if dom.Metadata == nil || strings.TrimSpace(dom.Metadata.XML) == "" {
		return nil, nil
	}
	dec := xml.NewDecoder(strings.NewReader("<metadata>" + dom.Metadata.XML + "</metadata>"))
	var out []MetaIfaceXML
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			return nil, fmt.Errorf("<metadata>: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == Namespace {
				if t.Name.Local != "network" {
					return nil, fmt.Errorf("<metadata>: unknown QuantumNet element <%s> (want <network>)", t.Name.Local)
				}
				var m Metadata
				if err := dec.DecodeElement(&m, &t); err != nil {
					return nil, fmt.Errorf("<quantumnet:network>: %v", err)
				}
				depth--
				out = append(out, m.Interfaces...)
			}
		case xml.EndElement:
			depth--
		}
	}
}
