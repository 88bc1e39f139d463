package wg

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Modes of a bastion's device.
const (
	// ModeKernel is a WireGuard link of the kernel module, configured over
	// generic netlink (wgctrl).
	ModeKernel = "kernel"
	// ModeUserspace is golang.zx2c4.com/wireguard's device on a TUN, for
	// hosts without the module (this project's test machine among them).
	ModeUserspace = "userspace"
)

// backend is the device behind an Instance. Both speak WireGuard's
// cross-platform configuration protocol (UAPI "key=value" lines): the
// userspace device natively, the kernel link through a translation to
// wgctrl's Config.
type backend interface {
	IpcSet(string) error
	IpcGet() (string, error)
	Close()
}

// kernelDev is a kernel WireGuard link named ifname in namespace ns.
type kernelDev struct{ ns, ifname string }

// newKernel adds a kernel WireGuard link named ifname in the calling
// thread's namespace. It fails where the module is missing ("operation
// not supported"), and then leaves nothing behind.
func newKernel(ns, ifname string) (*kernelDev, error) {
	l := &netlink.Wireguard{LinkAttrs: netlink.LinkAttrs{Name: ifname, MTU: MTU}}
	if err := netlink.LinkAdd(l); err != nil {
		return nil, fmt.Errorf("kernel wireguard link %s: %w", ifname, err)
	}
	return &kernelDev{ns: ns, ifname: ifname}, nil
}

func (k *kernelDev) IpcSet(s string) error {
	cfg, err := parseUAPI(s)
	if err != nil {
		return err
	}
	return inNS(k.ns, func() error {
		c, err := wgctrl.New()
		if err != nil {
			return err
		}
		defer c.Close()
		return c.ConfigureDevice(k.ifname, cfg)
	})
}

func (k *kernelDev) IpcGet() (string, error) {
	var out string
	err := inNS(k.ns, func() error {
		c, err := wgctrl.New()
		if err != nil {
			return err
		}
		defer c.Close()
		d, err := c.Device(k.ifname)
		if err != nil {
			return err
		}
		out = formatUAPI(d)
		return nil
	})
	return out, err
}

func (k *kernelDev) Close() {
	_ = inNS(k.ns, func() error { // the namespace may be gone already, the link with it
		l, err := netlink.LinkByName(k.ifname)
		if err != nil {
			return err
		}
		return netlink.LinkDel(l)
	})
}

// parseUAPI reads the UAPI set lines this package writes (private_key,
// listen_port; per peer public_key, remove, replace_allowed_ips,
// allowed_ip) into a wgctrl Config. Any other key is an error, so that a
// line added to the writers is not silently lost on the kernel path.
func parseUAPI(s string) (wgtypes.Config, error) {
	var cfg wgtypes.Config
	var peer *wgtypes.PeerConfig
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return cfg, fmt.Errorf("wireguard config line %q: no '='", line)
		}
		if err := setUAPI(&cfg, &peer, k, v); err != nil {
			return cfg, fmt.Errorf("wireguard config %s: %w", k, err)
		}
	}
	return cfg, nil
}

func setUAPI(cfg *wgtypes.Config, peer **wgtypes.PeerConfig, k, v string) error {
	if k == "public_key" {
		key, err := hexToKey(v)
		if err != nil {
			return err
		}
		cfg.Peers = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: key})
		*peer = &cfg.Peers[len(cfg.Peers)-1]
		return nil
	}
	p := *peer
	switch {
	case k == "private_key" && p == nil:
		key, err := hexToKey(v)
		cfg.PrivateKey = &key
		return err
	case k == "listen_port" && p == nil:
		n, err := strconv.ParseUint(v, 10, 16)
		port := int(n)
		cfg.ListenPort = &port
		return err
	case k == "remove" && p != nil:
		p.Remove = v == "true"
	case k == "replace_allowed_ips" && p != nil:
		p.ReplaceAllowedIPs = v == "true"
	case k == "allowed_ip" && p != nil:
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return err
		}
		p.AllowedIPs = append(p.AllowedIPs, *n)
	default:
		return fmt.Errorf("not supported here (peer section: %v)", p != nil)
	}
	return nil
}

func hexToKey(v string) (wgtypes.Key, error) {
	var key wgtypes.Key
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != len(key) {
		return key, fmt.Errorf("not a hex key of %d bytes", len(key))
	}
	copy(key[:], b)
	return key, nil
}

// formatUAPI writes what parseStats reads of a kernel device's peers.
func formatUAPI(d *wgtypes.Device) string {
	var b strings.Builder
	for _, p := range d.Peers {
		fmt.Fprintf(&b, "public_key=%s\n", hex.EncodeToString(p.PublicKey[:]))
		if !p.LastHandshakeTime.IsZero() {
			fmt.Fprintf(&b, "last_handshake_time_sec=%d\n", p.LastHandshakeTime.Unix())
		}
		fmt.Fprintf(&b, "rx_bytes=%d\ntx_bytes=%d\n", p.ReceiveBytes, p.TransmitBytes)
	}
	return b.String()
}
