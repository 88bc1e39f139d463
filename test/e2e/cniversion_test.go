package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	types040 "github.com/containernetworking/cni/pkg/types/040"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/quantumnet/quantumnet/test/harness"
)

// recExec runs plugins as libcni does and keeps what each plugin printed
// for its last ADD: the bytes a runtime's libcni parses.
type recExec struct {
	invoke.RawExec
	mu     sync.Mutex
	out    map[string][]byte // plugin file name -> stdout of its last ADD
	hostNS string            // run the plugins in this namespace, the chassis' host ("": here)
}

// execInNS runs a plugin in the namespace ns, as a runtime on that host
// would, and returns its stdout or its CNI error.
func execInNS(ctx context.Context, ns, path string, stdin []byte, environ []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, path)
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = environ, bytes.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e := &types.Error{}
		if json.Unmarshal(stdout.Bytes(), e) != nil || e.Msg == "" {
			e.Msg = fmt.Sprintf("%s: %v: %s", filepath.Base(path), err, stderr.String())
		}
		return nil, e
	}
	return stdout.Bytes(), nil
}

func (r *recExec) ExecPlugin(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	var b []byte
	var err error
	if r.hostNS == "" {
		b, err = r.RawExec.ExecPlugin(ctx, path, stdin, environ)
	} else {
		b, err = execInNS(ctx, r.hostNS, path, stdin, environ)
	}
	if slices.Contains(environ, "CNI_COMMAND=ADD") {
		r.mu.Lock()
		r.out[filepath.Base(path)] = b
		r.mu.Unlock()
	}
	return b, err
}

func (r *recExec) FindInPath(p string, paths []string) (string, error) {
	return invoke.FindInPath(p, paths)
}
func (r *recExec) Decode(b []byte) (version.PluginInfo, error) {
	return (&version.PluginDecoder{}).Decode(b)
}

// cniRun is libcni over the plugins in dirs, recording what they print.
func cniRun(t *testing.T, conf string, dirs ...string) (*libcni.CNIConfig, *libcni.NetworkConfigList, *recExec) {
	t.Helper()
	list, err := libcni.ConfListFromBytes([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	rx := &recExec{out: map[string][]byte{}}
	return libcni.NewCNIConfigWithCacheDir(dirs, t.TempDir(), rx), list, rx
}

// resultKeys are the JSON members a result of a CNI version may have: the
// 1.1.0 members (an interface's mtu, socketPath and pciID, a route's mtu,
// advmss, priority, table and scope) must not reach an older runtime, and
// before 1.0.0 an IP names its version.
func resultKeys(v string) (top, iface, ip, route []string) {
	top = []string{"cniVersion", "interfaces", "ips", "routes", "dns"}
	iface, ip, route = []string{"name", "mac", "sandbox"}, []string{"address", "gateway", "interface"}, []string{"dst", "gw"}
	switch v {
	case "0.3.1", "0.4.0":
		ip = append(ip, "version")
	case "1.1.0":
		iface = append(iface, "mtu", "socketPath", "pciID")
		route = append(route, "mtu", "advmss", "priority", "table", "scope")
	}
	return
}

// checkPrinted checks what the plugin printed for cniVersion v against the
// version's result type and members.
func checkPrinted(t *testing.T, v string, raw []byte) {
	t.Helper()
	var res types.Result
	var err error
	if v == "1.0.0" || v == "1.1.0" {
		res, err = types100.NewResult(raw)
	} else {
		res, err = types040.NewResult(raw)
	}
	if err != nil {
		t.Fatalf("cniVersion %s: the printed result does not parse as its version's type: %v\n%s", v, err, raw)
	}
	if res.Version() != v {
		t.Errorf("cniVersion %s: the result says %s", v, res.Version())
	}
	cur, err := types100.NewResultFromResult(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Interfaces) == 0 || len(cur.IPs) == 0 {
		t.Errorf("cniVersion %s: interfaces %d, ips %d: want both", v, len(cur.Interfaces), len(cur.IPs))
	}
	for _, ip := range cur.IPs {
		if ip.Interface == nil || *ip.Interface < 0 || *ip.Interface >= len(cur.Interfaces) || ip.Address.IP == nil {
			t.Errorf("cniVersion %s: ip %v: want an address and an interface index", v, ip)
		}
	}
	var m struct {
		Interfaces, IPs, Routes []map[string]any
	}
	var top map[string]any
	if json.Unmarshal(raw, &m) != nil || json.Unmarshal(raw, &top) != nil {
		t.Fatalf("cniVersion %s: not JSON: %s", v, raw)
	}
	wantTop, wantIface, wantIP, wantRoute := resultKeys(v)
	extra := func(what string, obj map[string]any, allowed []string) {
		for k := range maps.Keys(obj) {
			if !slices.Contains(allowed, k) {
				t.Errorf("cniVersion %s: %s member %q is not of this version: %s", v, what, k, raw)
			}
		}
	}
	extra("result", top, wantTop)
	for _, i := range m.Interfaces {
		extra("interface", i, wantIface)
	}
	for _, i := range m.IPs {
		extra("ip", i, wantIP)
		if v < "1.0.0" && i["version"] == nil {
			t.Errorf("cniVersion %s: ip without version: %s", v, raw)
		}
	}
	for _, i := range m.Routes {
		extra("route", i, wantRoute)
	}
}

// TestCNIResultVersions: ADD through libcni with config lists of
// cniVersion 0.3.1, 0.4.0, 1.0.0 (Podman 4's libcni refuses 1.1.0) and
// 1.1.0 prints a result of exactly that version; CHECK and DEL pass.
func TestCNIResultVersions(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-cniver", "--subnet4", "10.215.0.0/24", "--subnet6", "fd00:215::/64")
	for _, v := range []string{"0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		t.Run(v, func(t *testing.T) {
			conf := fmt.Sprintf(`{"cniVersion":%q,"name":"cniver","plugins":[{"type":"quantumnet","network":"e2e-cniver","socket":%q}]}`, v, d.Socket)
			cfg, list, rx := cniRun(t, conf, env.Bin)
			id := "cniver-" + strings.ReplaceAll(v, ".", "")
			rt := harness.RT(id, harness.Netns(t, id), "eth0")
			ctx := harness.Context(t)
			res, err := cfg.AddNetworkList(ctx, list, rt)
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			t.Cleanup(func() { cfg.DelNetworkList(ctx, list, rt) })
			checkPrinted(t, v, rx.out["quantumnet"])
			if res.Version() != v {
				t.Errorf("libcni's result is %s", res.Version())
			}
			if v != "0.3.1" { // CHECK came with 0.4.0
				if err := cfg.CheckNetworkList(ctx, list, rt); err != nil {
					t.Errorf("CHECK: %v", err)
				}
			}
			if err := cfg.DelNetworkList(ctx, list, rt); err != nil {
				t.Errorf("DEL: %v", err)
			}
		})
	}
}

// metaPlugins builds the standard tuning and bandwidth plugins from the
// containernetworking/plugins module (go.mod's version) into a directory.
func metaPlugins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/containernetworking/plugins/plugins/meta/tuning",
		"github.com/containernetworking/plugins/plugins/meta/bandwidth")
	cmd.Dir = env.Repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tuning and bandwidth: %v\n%s", err, out)
	}
	return dir
}

// canIFB reports whether this kernel makes ifb devices (bandwidth shapes
// ingress through one), trying in a namespace of its own.
func canIFB(t *testing.T) bool {
	ns := harness.NsName(harness.Netns(t, "ifbprobe"))
	return exec.Command("ip", "netns", "exec", ns, "ip", "link", "add", "qnifb", "type", "ifb").Run() == nil
}

// TestCNIChainTuningBandwidth: quantumnet chained with the standard tuning
// plugin (a sysctl in the container) and, where the kernel has ifb,
// bandwidth, in a cniVersion 1.0.0 list as Podman 4 writes them: ADD,
// CHECK and DEL pass through the chain, the sysctl is set, and two such
// containers reach each other.
func TestCNIChainTuningBandwidth(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-chain", "--subnet4", "10.216.0.0/24")
	meta := metaPlugins(t)
	plugins := fmt.Sprintf(`{"type":"quantumnet","network":"e2e-chain","socket":%q},
		{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_announce":"2"}}`, d.Socket)
	shaped := canIFB(t)
	if shaped {
		plugins += `,{"type":"bandwidth","ingressRate":100000000,"ingressBurst":1000000,"egressRate":100000000,"egressBurst":1000000}`
	} else {
		t.Log("this kernel makes no ifb devices: bandwidth left out of the chain")
	}
	conf := `{"cniVersion":"1.0.0","name":"chain","plugins":[` + plugins + `]}`
	cfg, list, rx := cniRun(t, conf, env.Bin, meta)
	rx.hostNS = sbx.Netns // bandwidth finds the host end of the veth in its own namespace
	ctx := harness.Context(t)
	var ips []string
	var nss []string
	for _, id := range []string{"chain-a", "chain-b"} {
		ns := harness.Netns(t, id)
		rt := harness.RT(id, ns, "eth0")
		res, err := cfg.AddNetworkList(ctx, list, rt)
		if err != nil {
			t.Fatalf("ADD %s through the chain: %v", id, err)
		}
		t.Cleanup(func() { cfg.DelNetworkList(ctx, list, rt) })
		for _, p := range list.Plugins {
			checkPrinted(t, "1.0.0", rx.out[p.Network.Type])
		}
		cur, err := types100.NewResultFromResult(res)
		if err != nil || len(cur.IPs) == 0 {
			t.Fatalf("chain result %v: %v", res, err)
		}
		ips, nss = append(ips, cur.IPs[0].Address.IP.String()), append(nss, ns)
		out, err := exec.Command("ip", "netns", "exec", harness.NsName(ns), "sysctl", "-n", "net.ipv4.conf.eth0.arp_announce").Output()
		if err != nil || strings.TrimSpace(string(out)) != "2" {
			t.Errorf("tuning's sysctl in %s: %q, %v; want 2", id, out, err)
		}
		if err := cfg.CheckNetworkList(ctx, list, rt); err != nil {
			t.Errorf("CHECK %s through the chain: %v", id, err)
		}
	}
	if out, _ := exec.Command("ip", "netns", "exec", sbx.Netns, "tc", "qdisc", "show").Output(); shaped && !strings.Contains(string(out), "tbf") {
		t.Errorf("bandwidth left no tbf qdisc on the host:\n%s", out)
	}
	eventually(t, "ping between the chained containers", func() error { return pingOnce(nss[0], ips[1]) })
}
