package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/test/harness"
)

const (
	network     = "scale"
	subnet4     = "10.120.0.0/16"
	floorNet    = "scalefloor"
	floorSubnet = "10.121.0.0/16"
	cniName     = "scalenet"
)

type bench struct {
	*harness.BenchWorld
	levels []int
	nb     *ovn.NB
	ovsc   *ovs.Client
	cni    *libcni.CNIConfig
	list   *libcni.NetworkConfigList

	mu    sync.Mutex
	nss   []string      // every namespace made (deleted at the end)
	atts  []*attachment // quantumnet attachments, in order of creation
	seq   int
	floor []*floorPort // pre-made, each used once
}

// attachment is one container attached by the CNI plugin.
type attachment struct {
	id, ns string
	ip     netip.Addr
	mac    string
}

// floorPort is a floor contender's pre-made logical port and veth.
type floorPort struct {
	lsp, host string
}

func (a *attachment) rt() *libcni.RuntimeConf { return harness.RT(a.id, harness.NsPath(a.ns), "eth0") }

// up brings the sandbox, quantumnetd (log level info: a thousand ADDs at
// debug would measure the logger), the networks, the clients of NB and
// OVS, and the floor's ports.
func (b *bench) up(ctx context.Context) error {
	b.Sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-%s-%d", b.Short, b.Pid), Chassis: fmt.Sprintf("%s-%d", b.Name, b.Pid), Netns: b.NS("host")}
	b.H = harness.New(harness.Setup{Name: b.Name, Root: true, Prebuilt: *flagBin, Programs: []string{"ovn-controller", "ovn-nbctl", "ping"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"}, Up: b.Sbx.Up})
	logf("bringing up the sandbox (%s, host namespace %s)", b.Sbx.Dir, b.Sbx.Netns)
	if err := b.H.Start(); err != nil {
		return err
	}
	b.Undo = append(b.Undo, b.deleteNamespaces)
	c := b.Sbx.DaemonConfig()
	c.Dir, c.LogLevel = b.H.Tmp, "info"
	var err error
	if b.D, err = harness.StartDaemon(c); err != nil {
		return fmt.Errorf("quantumnetd: %w", err)
	}
	if err := b.D.WaitReady(30 * time.Second); err != nil {
		return err
	}
	for _, n := range [][2]string{{network, subnet4}, {floorNet, floorSubnet}} {
		if err := b.Qn("network", "create", n[0], "--subnet4", n[1]); err != nil {
			return err
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if b.nb, err = ovn.NewNB(ctx, []string{b.Sbx.NB()}, nil, quiet); err != nil {
		return fmt.Errorf("dial NB: %w", err)
	}
	if err := b.nb.WaitConnected(ctx); err != nil {
		return err
	}
	if b.ovsc, err = ovs.New(ctx, []string{b.Sbx.OVS()}, nil, quiet); err != nil {
		return fmt.Errorf("dial OVS: %w", err)
	}
	if err := b.ovsc.WaitConnected(ctx); err != nil {
		return err
	}
	if b.list, err = libcni.ConfListFromBytes([]byte(harness.ConfList(cniName, network, b.D.ClientSocket, ""))); err != nil {
		return err
	}
	b.cni = libcni.NewCNIConfigWithCacheDir([]string{b.H.Bin}, filepath.Join(b.H.Tmp, "cni-cache"), nil)
	return b.makeFloor(ctx, len(b.levels)**flagSamples)
}

func (b *bench) cleanup() error {
	if *flagPerf != "" && b.D != nil { // the daemon's log (its attached lines time each phase) beside the profiles
		if data, err := os.ReadFile(b.D.LogPath); err == nil {
			_ = os.WriteFile(filepath.Join(*flagPerf, "quantumnetd.log"), data, 0o644)
		}
	}
	// The NB and OVS clients end with the program (their context).
	b.mu.Lock()
	nss := append([]string(nil), b.nss...)
	b.mu.Unlock()
	return b.Close(nss...)
}

// newNamespaces makes n container namespaces in one ip -batch.
func (b *bench) newNamespaces(prefix string, n int) ([]string, error) {
	var batch strings.Builder
	out := make([]string, n)
	b.mu.Lock()
	for i := range out {
		b.seq++
		out[i] = b.NS(fmt.Sprintf("%s%d", prefix, b.seq))
		b.nss = append(b.nss, out[i])
		fmt.Fprintf(&batch, "netns add %s\n", out[i])
	}
	b.mu.Unlock()
	return out, ipBatch(batch.String())
}

func (b *bench) deleteNamespaces() {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch strings.Builder
	for _, ns := range b.nss {
		fmt.Fprintf(&batch, "netns del %s\n", ns)
	}
	if err := ipBatch(batch.String(), "-force"); err != nil {
		logf("deleting namespaces: %v", err)
	}
}

func ipBatch(cmds string, opts ...string) error {
	if cmds == "" {
		return nil
	}
	c := exec.Command("ip", append(opts, "-batch", "-")...)
	c.Stdin = strings.NewReader(cmds)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch: %v: %s", err, harness.Tail(string(out), 5))
	}
	return nil
}

// makeFloor makes n floor ports: a logical port on the floor network's
// switch (not QuantumNet's: no network key, IPAM does not see it) made
// with pkg/ovn's builders, and a veth from the chassis host into a
// namespace of its own. Untimed.
func (b *bench) makeFloor(ctx context.Context, n int) error {
	logf("floor: making %d logical ports and veths (untimed)", n)
	ls, err := b.nb.GetSwitch(floorNet)
	if err != nil {
		return err
	}
	nss, err := b.newNamespaces("f", n)
	if err != nil {
		return err
	}
	var batch strings.Builder
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 121, byte((i + 10) >> 8), byte(i + 10)})
		mac := net.HardwareAddr{0x0a, 0x58, 10, 121, byte((i + 10) >> 8), byte(i + 10)}
		f := &floorPort{lsp: fmt.Sprintf("scfloor-%d-%d", b.Pid, i), host: fmt.Sprintf("qf%d-%d", b.Pid, i)}
		if len(f.host) > 15 {
			f.host = fmt.Sprintf("qf%d-%d", b.Pid%1000, i)
		}
		row := ovn.Port{Name: f.lsp, MAC: mac, IPs: []netip.Addr{ip}}.Row()
		if err := b.nb.CreatePort(ctx, ls, row); err != nil {
			return fmt.Errorf("floor logical port %s: %w", f.lsp, err)
		}
		fmt.Fprintf(&batch, "link add %s type veth peer name eth0 netns %s\nlink set %s up\n", f.host, nss[i], f.host)
		b.floor = append(b.floor, f)
	}
	return ipBatch(batch.String(), "-n", b.Sbx.Netns)
}
