// Package keys names what QuantumNet writes into OVN and OVS rows: the
// external_ids keys under the "quantumnet:" prefix (a row is QuantumNet's
// when it carries them; rows without them are never touched), row kinds,
// name prefixes and logical port options. Defined once; it imports nothing,
// so pure code can use it without linking an OVSDB client.
package keys

// Ownership keys, defined once. A row is QuantumNet's when it carries Network.
const (
	Prefix      = "quantumnet:"
	Network     = Prefix + "network"      // network name (LS and LSP)
	Subnet4     = Prefix + "subnet4"      // LS
	Gateway4    = Prefix + "gateway4"     // LS
	Subnet6     = Prefix + "subnet6"      // LS
	Gateway6    = Prefix + "gateway6"     // LS
	MTU         = Prefix + "mtu"          // LS
	DNSDomain   = Prefix + "dns-domain"   // LS
	LeaseTime   = Prefix + "lease-time"   // LS: DHCP lease time, seconds
	DNSServers  = Prefix + "dns-servers"  // LS: DNS servers DHCP hands out (none: the resolver)
	NTPServers  = Prefix + "ntp-servers"  // LS
	Routes      = Prefix + "routes"       // LS: DHCP classless static routes CIDR=GW,...
	DNSUpstream = Prefix + "dns-upstream" // LS: the resolver's upstream servers
	Resolver4   = Prefix + "resolver4"    // LS: the resolver's IPv4 address
	Resolver6   = Prefix + "resolver6"    // LS
	Range4      = Prefix + "range4"       // LS: allocation range FIRST-LAST
	Range6      = Prefix + "range6"       // LS
	Exclude     = Prefix + "exclude"      // LS: excluded ranges, comma-separated
	Owner       = Prefix + "owner"        // reservation (DHCP_Options): who holds it
	MAC         = Prefix + "mac"          // reservation: static binding MAC
	PortMAC     = Prefix + "port-mac"     // LSP: its MAC, for the uniqueness wait of CreatePortOps
	NBID        = Prefix + "nb-id"        // local OVS Port: the Northbound database identity it was attached against
	IP          = Prefix + "ip"           // reservation: the address
	VMUUID      = Prefix + "vm-uuid"      // LSP of a VM NIC: the libvirt domain UUID
	VMName      = Prefix + "vm-name"      // LSP of a VM NIC: the domain name
	VMState     = Prefix + "vm-state"     // LSP of a VM NIC: starting | running | stopped
	IPAMGen     = Prefix + "ipam-gen"     // LS other_config: bumped by every allocation change
	IPAMLast4   = Prefix + "ipam-last4"   // LS other_config: last address handed out (round robin)
	IPAMLast6   = Prefix + "ipam-last6"
	Kind        = Prefix + "kind"         // LSP: container | vm
	ContainerID = Prefix + "container-id" // LSP, OVS Port
	Ifname      = Prefix + "ifname"       // LSP, OVS Port
	Netns       = Prefix + "netns"        // LSP
	CNINetwork  = Prefix + "cni-network"  // LSP: the CNI config name
	Chassis     = Prefix + "chassis"      // LSP: chassis that created it
	HostIfname  = Prefix + "host-ifname"  // LSP
	Port        = Prefix + "port"         // OVS Port/Interface: the LSP name
	// ServiceOf marks the rows of a network's own services (its router,
	// router port, resolver localport, DNS records): the network's name.
	ServiceOf = Prefix + "service-of"
	// DNSName is the DNS host label of a port (<label>.<network domain>).
	DNSName = Prefix + "dns-name"
	// SecurityGroups lists an LSP's security groups, comma-separated;
	// its Port_Group memberships follow it in the same transaction.
	SecurityGroups = Prefix + "security-groups"
	// SGGen is the generation of the security groups (on the port group
	// of all members): bumped by every change of a group or rule.
	SGGen = Prefix + "sg-gen"
	// PortMappings lists a container port's host port mappings (CNI
	// portMappings), written with the port: "PROTO/HOSTPORT/CONTPORT[/HOSTIP]",
	// comma-separated (pkg/ovn.PortMapping).
	PortMappings = Prefix + "port-mappings"
)

// Port kinds.
const (
	KindContainer = "container"
	KindVM        = "vm"
	// KindMgmt is a chassis' management port on a network: the host's way
	// to the containers it maps host ports to (daemon/portmap).
	KindMgmt = "mgmt"
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
	MigrationFrom       = Prefix + "migration-from"
	MigrationTo         = Prefix + "migration-to"
)

// External ids of the security-group rows.
const (
	// SG is the security group of a Port_Group or an ACL (the all-members
	// group's name for qn_sg_all and its ACLs).
	SG = Prefix + "sg"
	// SGDescription is the group's description, on its Port_Group.
	SGDescription = Prefix + "sg-description"
	// SGLogDrops marks a group whose drops are logged ("true"), on its
	// Port_Group.
	SGLogDrops = Prefix + "sg-log-drops"
	// Rule is the ACL's stable id within its group: the rule's ID, or the
	// name of a plumbing or default ACL.
	Rule = Prefix + "rule"
	// RuleSpec is the rule of an ACL in the rule syntax, parsed back when
	// the groups are read from Northbound.
	RuleSpec = Prefix + "rule-spec"
)

// Resolver marks the OVS port of a resolver endpoint: its network.
const Resolver = Prefix + "resolver"

// North-south: routers, external networks, gateways and floating IPs.
const (
	// Router is the user router a network is attached to (on its LS), and
	// the router's name on its own rows (LR, static routes, NAT, HA group,
	// its gateway LRP and LSP).
	Router = Prefix + "router"
	// External marks an external (provider) network's LS ("true").
	External = Prefix + "external"
	// Physnet is an external network's physical network (LS).
	Physnet = Prefix + "physnet"
	// VLAN is an external network's VLAN tag (LS; absent: untagged).
	VLAN = Prefix + "vlan"
	// RouteKind marks a static route: RouteUser (made by a user) or
	// RouteGateway (a gateway's default route).
	RouteKind    = Prefix + "route"
	RouteUser    = "user"
	RouteGateway = "gateway"
	// GatewayNet is the external network of a router's gateway (on its LR,
	// its gateway LRP and LSP).
	GatewayNet = Prefix + "gateway-network"
	// NoSNAT marks a gateway set without SNAT (on the gateway LRP, "true").
	NoSNAT = Prefix + "no-snat"
	// FIP is a floating IP (on its NAT row: the address).
	FIP = Prefix + "fip"
	// FIPPort and FIPFixed record a floating IP's association on its
	// reservation row: the logical port and its address.
	FIPPort  = Prefix + "fip-port"
	FIPFixed = Prefix + "fip-fixed-ip"
	// OwnerFIP holds the reservation of a floating IP.
	OwnerFIP = "fip"
	// OwnerRouterPrefix + router holds a router's gateway addresses.
	OwnerRouterPrefix = "router:"
	// Localnet is the localnet LSP of an external network: its network.
	Localnet = Prefix + "localnet"
)

// Name prefixes of the north-south rows.
const (
	RouterPrefix        = "qn-lr-"  // Logical_Router of a user router
	GatewayPortPrefix   = "qn-lrg-" // a router's gateway LRP
	GatewayLSPPrefix    = "qn-lsg-" // the LSP on the external network peering with it
	HAGroupPrefix       = "qn-ha-"  // HA_Chassis_Group of a router's gateway
	LocalnetPrefix      = "qn-ln-"  // localnet LSP of an external network
	ChassisRedirectPref = "cr-"     // SB Port_Binding of a distributed gateway port
)

// Load balancers (daemon/lb): one Load_Balancer row per load balancer,
// LBPrefix+name, carrying the load balancer's record in its external_ids
// (the vips, ip_port_mappings and health checks are derived from it).
const (
	LBPrefix    = "qn-lb-"
	LB          = Prefix + "lb"           // Load_Balancer: the load balancer's name
	LBVIP       = Prefix + "lb-vip"       // its VIP
	LBListeners = Prefix + "lb-listeners" // PORT:MEMBERPORT,...
	LBMembers   = Prefix + "lb-members"   // MEMBER=on|off,... (a port name or an address)
	LBHealth    = Prefix + "lb-health"    // INTERVAL,TIMEOUT,SUCCESS,FAILURE ("": no health check)
	LBSource    = Prefix + "lb-source"    // the health probes' source address (reserved with the VIP)
	LBFIP       = Prefix + "lb-fip"       // a floating IP the listeners are also on ("": none)
	LBAffinity  = Prefix + "lb-affinity"  // session affinity timeout, seconds ("": none)
	// OwnerLBPrefix + name holds a load balancer's VIP reservation.
	OwnerLBPrefix = "lb:"
)

// Port forwards of floating IPs (daemon/router): one Load_Balancer row per
// floating IP and protocol, ForwardPrefix+ADDRESS+"-"+PROTO, on the router
// that carries the floating IP; its external_ids carry the forwards' record.
const (
	ForwardPrefix = "qn-fwd-"
	Forward       = Prefix + "fwd-fip"   // Load_Balancer: the floating IP's address
	ForwardRules  = Prefix + "fwd-rules" // PORT=TARGET:TPORT[@ADDRESS],...
)

// WireGuard bastions (daemon/bastion): a bastion's record lives on its
// transit Logical_Switch (BastionSwitchPrefix + name); its peers' tunnel
// addresses are in the Address_Set of its security group.
const (
	Bastion           = Prefix + "bastion"             // LS, LSP, LRP, route, Address_Set: the bastion's name
	BastionRouter     = Prefix + "bastion-router"      // LS: the router it serves
	BastionPort       = Prefix + "bastion-listen-port" // LS: UDP listen port
	BastionPrivateKey = Prefix + "bastion-private-key" // LS: its WireGuard private key (so any chassis can take over)
	BastionRange      = Prefix + "bastion-range"       // LS: the peers' tunnel range
	// BastionPeerPrefix + peer name = "PUBKEY ADDRESS NET1,NET2" (LS).
	BastionPeerPrefix   = Prefix + "bastion-peer:"
	BastionSwitchPrefix = "qnb-"  // transit LS name prefix
	BastionLRPPrefix    = "qnbr-" // the router's port on the transit switch
	BastionLSPPrefix    = "qnbp-" // the bastion's own port on the transit switch
	BastionASPrefix     = "qn_bastion_"
)
