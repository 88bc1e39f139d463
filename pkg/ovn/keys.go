// Package ovn is the typed client of the OVN Northbound and Southbound
// databases. Everything QuantumNet writes carries external_ids under the
// "quantumnet:" prefix; rows without it are never touched.
package ovn

// Ownership keys, defined once. A row is QuantumNet's when it carries KeyNetwork.
const (
	KeyPrefix      = "quantumnet:"
	KeyNetwork     = KeyPrefix + "network"      // network name (LS and LSP)
	KeySubnet4     = KeyPrefix + "subnet4"      // LS
	KeyGateway4    = KeyPrefix + "gateway4"     // LS
	KeySubnet6     = KeyPrefix + "subnet6"      // LS
	KeyGateway6    = KeyPrefix + "gateway6"     // LS
	KeyMTU         = KeyPrefix + "mtu"          // LS
	KeyDNSDomain   = KeyPrefix + "dns-domain"   // LS
	KeyLeaseTime   = KeyPrefix + "lease-time"   // LS: DHCP lease time, seconds
	KeyDNSServers  = KeyPrefix + "dns-servers"  // LS: DNS servers DHCP hands out (none: the resolver)
	KeyNTPServers  = KeyPrefix + "ntp-servers"  // LS
	KeyRoutes      = KeyPrefix + "routes"       // LS: DHCP classless static routes CIDR=GW,...
	KeyDNSUpstream = KeyPrefix + "dns-upstream" // LS: the resolver's upstream servers
	KeyResolver4   = KeyPrefix + "resolver4"    // LS: the resolver's IPv4 address
	KeyResolver6   = KeyPrefix + "resolver6"    // LS
	KeyRange4      = KeyPrefix + "range4"       // LS: allocation range FIRST-LAST
	KeyRange6      = KeyPrefix + "range6"       // LS
	KeyExclude     = KeyPrefix + "exclude"      // LS: excluded ranges, comma-separated
	KeyOwner       = KeyPrefix + "owner"        // reservation (DHCP_Options): who holds it
	KeyMAC         = KeyPrefix + "mac"          // reservation: static binding MAC
	KeyIP          = KeyPrefix + "ip"           // reservation: the address
	KeyVMUUID      = KeyPrefix + "vm-uuid"      // LSP of a VM NIC: the libvirt domain UUID
	KeyVMName      = KeyPrefix + "vm-name"      // LSP of a VM NIC: the domain name
	KeyVMState     = KeyPrefix + "vm-state"     // LSP of a VM NIC: starting | running | stopped
	KeyIPAMGen     = KeyPrefix + "ipam-gen"     // LS other_config: bumped by every allocation change
	KeyIPAMLast4   = KeyPrefix + "ipam-last4"   // LS other_config: last address handed out (round robin)
	KeyIPAMLast6   = KeyPrefix + "ipam-last6"
	KeyKind        = KeyPrefix + "kind"         // LSP: container | vm
	KeyContainerID = KeyPrefix + "container-id" // LSP, OVS Port
	KeyIfname      = KeyPrefix + "ifname"       // LSP, OVS Port
	KeyNetns       = KeyPrefix + "netns"        // LSP
	KeyCNINetwork  = KeyPrefix + "cni-network"  // LSP: the CNI config name
	KeyChassis     = KeyPrefix + "chassis"      // LSP: chassis that created it
	KeyHostIfname  = KeyPrefix + "host-ifname"  // LSP
	KeyPort        = KeyPrefix + "port"         // OVS Port/Interface: the LSP name
	// KeyServiceOf marks the rows of a network's own services (its router,
	// router port, resolver localport, DNS records): the network's name.
	KeyServiceOf = KeyPrefix + "service-of"
	// KeyDNSName is the DNS host label of a port (<label>.<network domain>).
	KeyDNSName = KeyPrefix + "dns-name"
	// KeySecurityGroups lists an LSP's security groups, comma-separated;
	// its Port_Group memberships follow it in the same transaction.
	KeySecurityGroups = KeyPrefix + "security-groups"
	// KeySGGen is the generation of the security groups (on the port group
	// of all members): bumped by every change of a group or rule.
	KeySGGen = KeyPrefix + "sg-gen"
)

// Port kinds.
const (
	KindContainer = "container"
	KindVM        = "vm"
	// KindReservation marks a DHCP_Options row that records an address
	// reservation (an API allocation or a static MAC binding).
	KindReservation = "reservation"
	// KindDHCP marks a network's DHCPv4 options row.
	KindDHCP = "dhcp"
	// KindDHCP6 marks a network's DHCPv6 options row.
	KindDHCP6 = "dhcp6"
	// OwnerResolver holds the reservations of a network's resolver addresses.
	OwnerResolver = "quantumnet:dns"
)

// SwitchPrefix prefixes the Logical_Switch name of a network.
const SwitchPrefix = "qn-"

// LSP options of port binding and migration.
const (
	OptRequestedChassis = "requested-chassis"
	OptActivation       = "activation-strategy"
	OptActivatedChassis = "additional-chassis-activated" // set by OVN once the destination saw the RARP
	KeyMigrationFrom    = KeyPrefix + "migration-from"
	KeyMigrationTo      = KeyPrefix + "migration-to"
)
