// Package config loads, defaults and validates quantumnetd's TOML config file.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// DefaultPath is where quantumnetd looks for its config.
const DefaultPath = "/etc/quantumnet/quantumnetd.toml"

// Config is quantumnetd's configuration. See Example for every key.
type Config struct {
	OVN     OVN     `toml:"ovn"`
	Chassis Chassis `toml:"chassis"`
	Daemon  Daemon  `toml:"daemon"`
	Libvirt Libvirt `toml:"libvirt"`
	DNS     DNS     `toml:"dns"`
	HTTP    HTTP    `toml:"http"`
	BGP     BGP     `toml:"bgp"`
}

// Libvirt is where the daemon follows domain lifecycle events.
// DNS configures the networks' resolvers.
type DNS struct {
	// Upstream servers ("IP" or "IP:PORT") for names that are not a
	// network's own, unless the network names its own (dns_upstream).
	Upstream []string `toml:"upstream"`
	// Resolver: serve each network's resolver on this chassis (a localport
	// endpoint). Off: DHCP still names the resolver address, and OVN native
	// DNS answers the queries it can for ports here.
	Resolver *bool `toml:"resolver"`
}

type Libvirt struct {
	URI     string `toml:"uri"`
	Enabled *bool  `toml:"enabled"`
}

// OVN is where the central databases are.
type OVN struct {
	NBRemotes []string `toml:"nb_remotes"`
	SBRemotes []string `toml:"sb_remotes"`
	SSLKey    string   `toml:"ssl_key"`
	SSLCert   string   `toml:"ssl_cert"`
	SSLCA     string   `toml:"ssl_ca"`
	// GatewayBFDInterval, when set, is the BFD interval QuantumNet asks
	// OVN to use between gateway chassis (NB_Global bfd-min-rx/min-tx,
	// added only where the operator set none); zero: OVN's own (1 s).
	GatewayBFDInterval Duration `toml:"gateway_bfd_interval"`
	// GatewayBFDMult is how many missed BFD packets declare a chassis down.
	GatewayBFDMult int `toml:"gateway_bfd_mult"`
	// LoadAllReservations loads every network's address reservations at
	// start, not only those of the networks with ports here (the others
	// load when first used).
	LoadAllReservations bool `toml:"load_all_reservations"`
}

// Chassis is this host's OVS and ovn-controller configuration.
type Chassis struct {
	Name              string   `toml:"name"`
	EncapType         string   `toml:"encap_type"`
	EncapIP           string   `toml:"encap_ip"`
	IntegrationBridge string   `toml:"integration_bridge"`
	DatapathType      string   `toml:"datapath_type"`
	BridgeMappings    []string `toml:"bridge_mappings"`
	OVSRemote         string   `toml:"ovs_remote"`
	Manage            *bool    `toml:"manage"`
	// CreateMappedBridges: with Manage, create the bridges named in
	// BridgeMappings (and remove the ones it created once unmapped).
	CreateMappedBridges bool `toml:"create_mapped_bridges"`
}

// Daemon is the daemon's own settings.
type Daemon struct {
	Socket       string   `toml:"socket"`
	LogLevel     string   `toml:"log_level"`
	ReadyTimeout Duration `toml:"ready_timeout"`
	MACPrefix    string   `toml:"mac_prefix"`
}

// Duration is a time.Duration written as "30s".
type Duration struct{ time.Duration }

// UnmarshalText parses "30s", "1m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns a config with every default filled in.
func Defaults() Config {
	host, _ := os.Hostname()
	return Config{
		OVN: OVN{
			NBRemotes: []string{"unix:/var/run/ovn/ovnnb_db.sock"},
			SBRemotes: []string{"unix:/var/run/ovn/ovnsb_db.sock"},
		},
		Chassis: Chassis{
			Name: host, EncapType: "geneve", EncapIP: "127.0.0.1", IntegrationBridge: "br-int",
			DatapathType: "auto", OVSRemote: "unix:/var/run/openvswitch/db.sock", Manage: new(true),
		},
		Libvirt: Libvirt{URI: "qemu:///system", Enabled: new(true)},
		DNS:     DNS{Resolver: new(true)},
		Daemon:  Daemon{Socket: api.DefaultSocket, LogLevel: "info", ReadyTimeout: Duration{30 * time.Second}, MACPrefix: "0a:51:4e"},
	}
}

// Load reads path over the defaults. A missing file is an error only when
// mustExist (the path was given explicitly).
func Load(path string, mustExist bool) (Config, error) {
	c := Defaults()
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !mustExist {
			return c, c.Validate()
		}
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := Parse(string(b), &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes TOML text over c, rejecting unknown keys, then validates.
func Parse(text string, c *Config) error {
	md, err := toml.Decode(text, c)
	if err != nil {
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("unknown key(s): %s", strings.Join(keys, ", "))
	}
	return c.Validate()
}

var (
	chassisRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	bridgeRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)
	macPfxRE  = regexp.MustCompile(`^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)
)

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	if err := c.validateOVN(); err != nil {
		return err
	}
	if err := c.validateChassis(); err != nil {
		return err
	}
	if err := c.validateLibvirt(); err != nil {
		return err
	}
	if c.Chassis.Manage == nil {
		t := true
		c.Chassis.Manage = &t
	}
	if c.DNS.Resolver == nil {
		t := true
		c.DNS.Resolver = &t
	}
	if err := c.validateDNS(); err != nil {
		return err
	}
	if err := c.validateHTTP(); err != nil {
		return err
	}
	if err := c.validateBGP(); err != nil {
		return err
	}
	return c.validateDaemon()
}

// validateOVN checks the Northbound and Southbound remotes, and the TLS
// files an ssl: remote needs.
func (c *Config) validateOVN() error {
	if len(c.OVN.NBRemotes) == 0 {
		return errors.New("ovn.nb_remotes: at least one remote is required")
	}
	if len(c.OVN.SBRemotes) == 0 {
		return errors.New("ovn.sb_remotes: at least one remote is required")
	}
	ssl := false
	for field, rs := range map[string][]string{"ovn.nb_remotes": c.OVN.NBRemotes, "ovn.sb_remotes": c.OVN.SBRemotes} {
		for _, r := range rs {
			if err := ovs.ValidateRemote(r); err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
			ssl = ssl || strings.HasPrefix(r, "ssl:")
		}
	}
	if ssl && (c.OVN.SSLKey == "" || c.OVN.SSLCert == "" || c.OVN.SSLCA == "") {
		return errors.New("ovn.ssl_key, ovn.ssl_cert, ovn.ssl_ca: all three are required with an ssl: remote")
	}
	if d := c.OVN.GatewayBFDInterval.Duration; d != 0 && (d < 10*time.Millisecond || d > time.Minute || d%time.Millisecond != 0) {
		return fmt.Errorf("ovn.gateway_bfd_interval: %v is not a whole number of milliseconds from 10ms to 1m", d)
	}
	if m := c.OVN.GatewayBFDMult; m < 0 || m > 255 {
		return fmt.Errorf("ovn.gateway_bfd_mult: %d is not from 1 to 255", m)
	}
	if strings.HasPrefix(c.Chassis.OVSRemote, "ssl:") && (c.OVN.SSLKey == "" || c.OVN.SSLCert == "" || c.OVN.SSLCA == "") {
		return errors.New("ovn.ssl_key, ovn.ssl_cert, ovn.ssl_ca: all three are required with an ssl: chassis.ovs_remote")
	}
	return nil
}

// validateChassis checks the chassis section.
func (c *Config) validateChassis() error {
	if c.Chassis.Name == "" || !chassisRE.MatchString(c.Chassis.Name) {
		return fmt.Errorf("chassis.name: %q is invalid (letters, digits, '.', '_', '-', up to 64)", c.Chassis.Name)
	}
	switch c.Chassis.EncapType {
	case "geneve", "vxlan":
	default:
		return fmt.Errorf("chassis.encap_type: %q is not geneve or vxlan", c.Chassis.EncapType)
	}
	if _, err := netip.ParseAddr(c.Chassis.EncapIP); err != nil {
		return fmt.Errorf("chassis.encap_ip: %q is not an IP address", c.Chassis.EncapIP)
	}
	if !bridgeRE.MatchString(c.Chassis.IntegrationBridge) {
		return fmt.Errorf("chassis.integration_bridge: %q is not a valid bridge name", c.Chassis.IntegrationBridge)
	}
	switch c.Chassis.DatapathType {
	case "auto", "netdev", "system":
	default:
		return fmt.Errorf("chassis.datapath_type: %q is not auto, netdev or system", c.Chassis.DatapathType)
	}
	for _, m := range c.Chassis.BridgeMappings {
		phys, br, ok := strings.Cut(m, ":")
		if !ok || phys == "" || !bridgeRE.MatchString(br) {
			return fmt.Errorf("chassis.bridge_mappings: %q is not PHYSNET:BRIDGE", m)
		}
	}
	if err := ovs.ValidateRemote(c.Chassis.OVSRemote); err != nil {
		return fmt.Errorf("chassis.ovs_remote: %w", err)
	}
	return nil
}

// validateLibvirt defaults libvirt.enabled to true and checks the URI of
// an enabled libvirt.
func (c *Config) validateLibvirt() error {
	if c.Libvirt.Enabled == nil {
		t := true
		c.Libvirt.Enabled = &t
	}
	if *c.Libvirt.Enabled && !strings.Contains(c.Libvirt.URI, ":///") && !strings.Contains(c.Libvirt.URI, "://") {
		return fmt.Errorf("libvirt.uri: %q is not a libvirt URI like qemu:///system", c.Libvirt.URI)
	}
	return nil
}

// validateDNS checks the upstream resolvers.
func (c *Config) validateDNS() error {
	for _, u := range c.DNS.Upstream {
		hp := u
		if _, err := netip.ParseAddr(u); err == nil {
			hp = net.JoinHostPort(u, "53")
		}
		if ap, err := netip.ParseAddrPort(hp); err != nil || ap.Port() == 0 {
			return fmt.Errorf("dns.upstream: %q is not IP or IP:PORT", u)
		}
	}
	return nil
}

// validateDaemon checks the daemon section and the MAC prefix.
func (c *Config) validateDaemon() error {
	if c.Daemon.Socket == "" || !strings.HasPrefix(c.Daemon.Socket, "/") {
		return fmt.Errorf("daemon.socket: %q must be an absolute path", c.Daemon.Socket)
	}
	if len(c.Daemon.Socket) > 100 {
		return fmt.Errorf("daemon.socket: %q is longer than a unix socket path may be", c.Daemon.Socket)
	}
	if _, err := ParseLevel(c.Daemon.LogLevel); err != nil {
		return err
	}
	if c.Daemon.ReadyTimeout.Duration < 100*time.Millisecond || c.Daemon.ReadyTimeout.Duration > 5*time.Minute {
		return fmt.Errorf("daemon.ready_timeout: %s is out of range 100ms-5m", c.Daemon.ReadyTimeout.Duration)
	}
	if _, err := c.MACPrefix(); err != nil {
		return err
	}
	return nil
}

// ParseLevel maps daemon.log_level to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("daemon.log_level: %q is not debug, info, warn or error", s)
}

// MACPrefix parses daemon.mac_prefix; it must be locally administered unicast.
func (c *Config) MACPrefix() ([3]byte, error) {
	var p [3]byte
	if !macPfxRE.MatchString(c.Daemon.MACPrefix) {
		return p, fmt.Errorf("daemon.mac_prefix: %q is not three hex octets like 0a:51:4e", c.Daemon.MACPrefix)
	}
	hw, err := net.ParseMAC(c.Daemon.MACPrefix + ":00:00:00")
	if err != nil {
		return p, fmt.Errorf("daemon.mac_prefix: %v", err)
	}
	if hw[0]&0x02 == 0 || hw[0]&0x01 != 0 {
		return p, fmt.Errorf("daemon.mac_prefix: %q must be locally administered unicast (second hex digit 2, 6, a or e)", c.Daemon.MACPrefix)
	}
	copy(p[:], hw[:3])
	return p, nil
}

// TLS builds the client TLS config for ssl: remotes (Northbound,
// Southbound and an ssl: ovs_remote), or nil without ovn.ssl_key. Peers
// are checked as OVS does (chain to ovn.ssl_ca, no host name), and the
// files are re-read when they change (see ovs.TLSFiles).
func (c *Config) TLS() (*tls.Config, error) {
	if c.OVN.SSLKey == "" {
		return nil, nil
	}
	cfg, err := ovs.TLSFiles{Key: c.OVN.SSLKey, Cert: c.OVN.SSLCert, CA: c.OVN.SSLCA}.Config()
	if err != nil {
		return nil, fmt.Errorf("ovn.ssl_key/ssl_cert/ssl_ca: %w", err)
	}
	return cfg, nil
}

// Example is a complete, commented config file with the defaults.
const Example = `# quantumnetd configuration (TOML). Every key is optional; shown are the defaults.

[ovn]
# OVN Northbound / Southbound databases: unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT.
# List every member of a clustered (Raft) database; the daemon follows the leader.
nb_remotes = ["unix:/var/run/ovn/ovnnb_db.sock"]
sb_remotes = ["unix:/var/run/ovn/ovnsb_db.sock"]
# Required with ssl: remotes (also an ssl: chassis.ovs_remote); the files
# ovs-pki makes. The server's chain is checked against ssl_ca, not its host
# name (as OVS does); the files are re-read when they change.
# ssl_key  = "/etc/quantumnet/pki/key.pem"
# ssl_cert = "/etc/quantumnet/pki/cert.pem"
# ssl_ca   = "/etc/quantumnet/pki/ca.pem"
# BFD between a router's gateway chassis: how fast a dead gateway chassis is
# noticed (interval x mult; OVN's own default, 1 s x 3, fails over in ~3 s).
# Set cluster-wide in NB_Global where nothing is set yet. Short intervals
# need hosts whose OVS is never starved of CPU, or gateways flap.
# gateway_bfd_interval = "100ms"
# gateway_bfd_mult = 3
# Address reservations load per network: at start those of the networks
# with ports on this host, the others when first used. true loads all of
# them at start (slower start, more memory; for a host serving IPAM of
# every network).
# load_all_reservations = false

[chassis]
# Chassis name (OVS external_ids:system-id). Default: the host name.
# name = "host-1"
encap_type = "geneve"          # geneve or vxlan
encap_ip = "127.0.0.1"         # this host's tunnel (underlay) address
integration_bridge = "br-int"
datapath_type = "auto"         # auto (netdev without the openvswitch kernel module), netdev, system
bridge_mappings = []           # e.g. ["physnet1:br-ex"]
ovs_remote = "unix:/var/run/openvswitch/db.sock"
# Write the Open_vSwitch external_ids ovn-controller needs and create the
# integration bridge. Set false when another tool manages them.
manage = true
# With manage: create the bridges named in bridge_mappings (datapath type of
# the integration bridge; add the physical NIC to it yourself, e.g.
# ovs-vsctl add-port br-ex eth1) and remove the ones it created once unmapped.
create_mapped_bridges = false

[daemon]
socket = "/run/quantumnet/quantumnetd.sock"   # root-only; clients honour $QUANTUMNET_SOCKET
log_level = "info"             # debug, info, warn, error
ready_timeout = "30s"          # how long ADD waits for ovn-controller to install a port's flows
mac_prefix = "0a:51:4e"        # locally administered prefix of generated MACs

[dns]
# Upstream DNS servers ("IP" or "IP:PORT") the networks' resolvers forward
# other names to, unless a network names its own (qnetctl network set
# --dns-upstream). None: such names are refused.
upstream = []
# Serve each network's resolver on this chassis (a localport endpoint).
resolver = true

[http]
# The opt-in HTTP listener: /metrics (Prometheus), /healthz, /readyz and,
# with console = true, the web console at /console/. Off unless listen is
# set. On a loopback address it needs nothing else; on any other address
# (other hosts can reach it) tls_cert, tls_key and token_file are required,
# and every request but /healthz must carry "Authorization: Bearer <the
# file's token>" (the console's pages: its login cookie).
# listen = "127.0.0.1:9476"
# tls_cert = "/etc/quantumnet/http/cert.pem"
# tls_key = "/etc/quantumnet/http/key.pem"
# token_file = "/etc/quantumnet/http/token"
# The web console (live topology, security group editor) at
# http://LISTEN/console/; needs listen. Off a loopback address open
# https://HOST:PORT/console/login?token=<the token> once (it sets a cookie).
# console = false

[bgp]
# The opt-in BGP speaker: announces the floating IPs distributed to this
# chassis, and the router gateway addresses, centralized floating IPs and
# routed (no SNAT) subnets of the routers whose gateway is active here, to
# the top-of-rack routers. Off unless asn is set. Graceful restart is on.
# asn = 65001
# router_id = "192.0.2.11"
# listen_port = 179
# next_hop = "192.0.2.11"     # this chassis' address on the external network
# next_hop6 = "2001:db8::11"  # for the ipv6 family
# families = ["ipv4"]
# graceful_restart_time = 120
# Install a kernel route (proto 250, qn-bgp) for each announced prefix onto
# its physnet's bridge (bridge_mappings), bring the bridge up and set
# ip_forward (and rp_filter loose on the bridge): what the ToR sends to
# next_hop then reaches OVN. Stale ones go at start; kept at stop.
# expose_routes = false
# neighbors = [{ address = "192.0.2.1", asn = 65000, password = "" }]

[libvirt]
# The daemon follows domain lifecycle events here: the ports and addresses of
# an undefined domain are released. Without libvirt it keeps retrying quietly.
enabled = true
uri = "qemu:///system"
`
