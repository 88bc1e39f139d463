// Package wg is the data plane of a WireGuard bastion: a WireGuard device
// in the bastion's network namespace (the kernel module's link, configured
// with wgctrl, where the host has the module; else the userspace
// golang.zx2c4.com/wireguard on a TUN), its peers
// kept in step with the record (a removed peer is removed from the device
// at once), and the namespace's iptables filter that lets each peer's
// tunnel address reach only its granted subnets. The device's UAPI socket
// is opened too for the userspace device, so `wg show qnb-NAME` works on
// the host either way.
package wg

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/pkg/errs"
)

// MTU of the tunnel: the overlay's 1400 less WireGuard's 80 bytes.
const MTU = 1320

// Grant is a peer with the subnets it may reach.
type Grant struct {
	Peer    bastion.Peer
	Subnets []netip.Prefix
}

// Instance is a running bastion device in its namespace.
type Instance struct {
	Name string // the bastion's
	NS   string // network namespace name
	Port int
	Self netip.Prefix // the device's address (tunnel range length)
	// Mode is ModeKernel or ModeUserspace.
	Mode   string
	log    *slog.Logger
	mu     sync.Mutex
	dev    backend
	udev   *device.Device // the userspace device, when Mode is ModeUserspace
	uapi   net.Listener
	peers  map[bastion.Key]bool
	closed bool
}

// inNS runs f on a thread in namespace name.
func inNS(name string, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		return err
	}
	defer netns.Set(orig) //nolint:errcheck // the thread stays locked if this fails: it then dies with the goroutine
	return f()
}

// EnsureNS creates the network namespace name if it is missing. A
// /run/netns/name that is not a namespace (the empty file `ip netns add`
// mounts onto, left behind when its mount went with a mount namespace —
// a service's private one — or a crash) is removed and the namespace made
// anew.
func EnsureNS(name string) error {
	if h, err := netns.GetFromName(name); err == nil {
		var st unix.Statfs_t
		isNS := unix.Fstatfs(int(h), &st) == nil && st.Type == unix.NSFS_MAGIC
		h.Close()
		if isNS {
			return nil
		}
		if err := os.Remove(filepath.Join("/run/netns", name)); err != nil {
			return fmt.Errorf("netns %s: a stale file that is not a namespace: %w", name, err)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	return nil
}

// Start starts the device of b in namespace ns (which must exist): its
// key, listen port (errs.Conflict naming listen_port if the port is
// taken there) and address; forwarding on, the filter closed.
func Start(b bastion.Bastion, ns string, log *slog.Logger) (*Instance, error) {
	in := &Instance{Name: b.Name, NS: ns, Port: b.ListenPort, Self: netip.PrefixFrom(b.Self(), b.TunnelRange.Bits()), log: log,
		peers: map[bastion.Key]bool{}}
	ifname := bastion.IfName(b.Name)
	err := inNS(ns, func() error {
		if err := checkPort(b.ListenPort); err != nil {
			return err
		}
		if err := in.newDevice(ifname); err != nil {
			return err
		}
		cfg := fmt.Sprintf("private_key=%s\nlisten_port=%d\n", hexKey(b.PrivateKey), b.ListenPort)
		if err := in.dev.IpcSet(cfg); err != nil {
			return err
		}
		if in.udev != nil {
			if err := in.udev.Up(); err != nil {
				return err
			}
		}
		if err := linkUp(ifname, in.Self); err != nil {
			return err
		}
		return sysctl("net/ipv4/ip_forward", "1")
	})
	if err == nil {
		err = in.filter(nil)
	}
	if err == nil && in.udev != nil {
		if uerr := in.openUAPI(ifname); uerr != nil { // only wg show needs it
			log.Warn("no UAPI socket: wg show will not see the device", "bastion", b.Name, "err", uerr)
		}
	}
	if err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// newDevice makes the device, in the calling thread's namespace: the
// kernel's link if the module is there, else the userspace device.
func (in *Instance) newDevice(ifname string) error {
	k, kerr := newKernel(in.NS, ifname)
	if kerr == nil {
		in.dev, in.Mode = k, ModeKernel
		return nil
	}
	t, err := tun.CreateTUN(ifname, MTU)
	if err != nil {
		return fmt.Errorf("tun %s (and no kernel WireGuard: %v): %w", ifname, kerr, err)
	}
	in.udev = device.NewDevice(t, conn.NewDefaultBind(), device.NewLogger(device.LogLevelError, "("+ifname+") "))
	in.dev, in.Mode = in.udev, ModeUserspace
	in.log.Debug("bastion: userspace WireGuard", "bastion", in.Name, "kernel", kerr)
	return nil
}

func checkPort(port int) error {
	c, err := net.ListenUDP("udp", &net.UDPAddr{Port: port})
	if err != nil {
		return bastion.PortTaken(port, err.Error())
	}
	return c.Close()
}

func (in *Instance) openUAPI(ifname string) error {
	f, err := ipc.UAPIOpen(ifname)
	if err != nil {
		return fmt.Errorf("uapi socket of %s: %w", ifname, err)
	}
	l, err := ipc.UAPIListen(ifname, f)
	if err != nil {
		return err
	}
	in.uapi = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go in.udev.IpcHandle(c)
		}
	}()
	return nil
}

func linkUp(ifname string, addr netip.Prefix) error {
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return err
	}
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}}
	if err := netlink.AddrReplace(l, a); err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

func sysctl(path, v string) error {
	out, err := exec.Command("sh", "-c", "echo "+v+" > /proc/sys/"+path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysctl %s: %v: %s", path, err, out)
	}
	return nil
}

func hexKey(k bastion.Key) string { return hex.EncodeToString(k[:]) }

// SetPeers makes the device's peers the grants' (removed peers first, at
// once), each allowed its tunnel address, and rewrites the filter.
func (in *Instance) SetPeers(grants []Grant) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return errs.New(errs.Unavailable, "bastion "+in.Name+" is stopped")
	}
	want := map[bastion.Key]Grant{}
	for _, g := range grants {
		want[g.Peer.PublicKey] = g
	}
	var b strings.Builder
	for k := range in.peers {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "public_key=%s\nremove=true\n", hexKey(k))
		}
	}
	for k, g := range want {
		fmt.Fprintf(&b, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=%s\n", hexKey(k),
			netip.PrefixFrom(g.Peer.Address, g.Peer.Address.BitLen()))
	}
	// The filter first when peers go (nothing new passes), after when
	// they come.
	if err := in.filter(grants); err != nil {
		return err
	}
	if b.Len() > 0 {
		if err := in.dev.IpcSet(b.String()); err != nil {
			return fmt.Errorf("bastion %s: set peers: %w", in.Name, err)
		}
	}
	in.peers = map[bastion.Key]bool{}
	for k := range want {
		in.peers[k] = true
	}
	return nil
}

// filter writes the namespace's iptables filter: forward only a peer's
// address to its granted subnets (and replies), accept only the listen
// port (and replies) into the namespace.
func (in *Instance) filter(grants []Grant) error {
	ifname := bastion.IfName(in.Name)
	var b bytes.Buffer
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	b.WriteString("-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	fmt.Fprintf(&b, "-A INPUT -p udp --dport %d -j ACCEPT\n", in.Port)
	b.WriteString("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	for _, g := range grants {
		for _, s := range g.Subnets {
			if s.Addr().Is4() {
				fmt.Fprintf(&b, "-A FORWARD -i %s -s %s/32 -d %s -j ACCEPT\n", ifname, g.Peer.Address, s)
			}
		}
	}
	b.WriteString("COMMIT\n")
	cmd := exec.Command("ip", "netns", "exec", in.NS, "iptables-restore")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bastion %s: iptables-restore: %v: %s", in.Name, err, out)
	}
	return nil
}

// Stats are the device's peers by public key.
func (in *Instance) Stats() map[bastion.Key]bastion.PeerStat {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	s, err := in.dev.IpcGet()
	if err != nil {
		return nil
	}
	return parseStats(s)
}

func parseStats(s string) map[bastion.Key]bastion.PeerStat {
	out := map[bastion.Key]bastion.PeerStat{}
	var cur *bastion.Key
	var st bastion.PeerStat
	flush := func() {
		if cur != nil {
			out[*cur] = st
		}
	}
	for _, l := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "public_key":
			flush()
			var key bastion.Key
			if b, err := hex.DecodeString(v); err == nil && len(b) == len(key) {
				copy(key[:], b)
				cur, st = &key, bastion.PeerStat{}
			} else {
				cur = nil
			}
		case "last_handshake_time_sec":
			if n, _ := strconv.ParseInt(v, 10, 64); n > 0 {
				st.LastHandshake = time.Unix(n, 0)
			}
		case "rx_bytes":
			st.RX, _ = strconv.ParseUint(v, 10, 64)
		case "tx_bytes":
			st.TX, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	flush()
	return out
}

// Close stops the device (its peers are cut) and its UAPI socket.
func (in *Instance) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.closed = true
	if in.uapi != nil {
		in.uapi.Close()
	}
	if in.dev != nil {
		in.dev.Close()
	}
}
