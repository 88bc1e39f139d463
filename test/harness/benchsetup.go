package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// BenchLogf is a benchmark's log: stderr, the time and the benchmark's
// name before each line.
func BenchLogf(name string) func(format string, a ...any) {
	return func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.000"), name}, a...)...)
	}
}

// BenchWorld is test/e2e's world for a one-chassis benchmark: the OVN
// sandbox with its chassis in a namespace standing for the host,
// quantumnetd managing it, and what to undo (the last made first).
type BenchWorld struct {
	Name  string // names the sandbox and the chassis ("lbbench")
	Short string // prefixes the namespaces and the sandbox directory ("lbb")
	Logf  func(format string, a ...any)
	Pid   int
	Sbx   *Sandbox
	H     *Env
	D     *Daemon
	Undo  []func()
}

// NewBenchWorld is a world named name whose namespaces are
// qn<short><pid>-*.
func NewBenchWorld(name, short string, logf func(format string, a ...any)) *BenchWorld {
	return &BenchWorld{Name: name, Short: short, Logf: logf, Pid: os.Getpid() % 100000}
}

// Up brings the sandbox and the daemon up (the binaries from prebuilt, or
// built), with programs required.
func (w *BenchWorld) Up(prebuilt string, programs []string) error {
	w.Sbx = &Sandbox{Dir: fmt.Sprintf("/tmp/qn-%s-%d", w.Short, w.Pid), Chassis: fmt.Sprintf("%s-%d", w.Name, w.Pid),
		Netns: w.NS("host")}
	w.H = New(Setup{Name: w.Name, Root: true, Prebuilt: prebuilt, Programs: programs,
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"}, Up: w.Sbx.Up})
	w.Logf("bringing up the sandbox (%s, host namespace %s)", w.Sbx.Dir, w.Sbx.Netns)
	if err := w.H.Start(); err != nil {
		return err
	}
	c := w.Sbx.DaemonConfig()
	c.Dir = w.H.Tmp
	var err error
	if w.D, err = StartDaemon(c); err != nil {
		return fmt.Errorf("quantumnetd: %w", err)
	}
	return w.D.WaitReady(30 * time.Second)
}

// SetupFailed logs err and the daemon's log tail.
func (w *BenchWorld) SetupFailed(err error) {
	w.Logf("setup: %v", err)
	if w.D != nil {
		w.Logf("quantumnetd log (tail):\n%s", TailFile(w.D.LogPath, 20))
	}
}

// NS is the namespace name of id in this world.
func (w *BenchWorld) NS(id string) string { return fmt.Sprintf("qn%s%d-%s", w.Short, w.Pid, id) }

// Qn runs qnetctl, its output in the error.
func (w *BenchWorld) Qn(args ...string) error {
	if out, err := w.D.Qnetctl(args...); err != nil {
		return fmt.Errorf("qnetctl %s: %v %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Container makes a namespace attached to network by the CNI plugin
// (extra: more of the plugin's configuration; rt, when not nil, adjusts
// the runtime configuration, its capability arguments say); it returns
// the namespace and its IPv4 address. Both are undone at the end.
func (w *BenchWorld) Container(id, network, extra string, rt func(*libcni.RuntimeConf)) (ns, ip string, err error) {
	ns = w.NS(id)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("ip netns add %s: %v %s", ns, err, out)
	}
	w.Undo = append(w.Undo, func() { exec.Command("ip", "netns", "del", ns).Run() })
	list, err := libcni.ConfListFromBytes([]byte(ConfList(network, network, w.D.ClientSocket, extra)))
	if err != nil {
		return "", "", err
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{w.H.Bin}, filepath.Join(w.H.Tmp, "cni-cache"), nil)
	conf := RT(id, NsPath(ns), "eth0")
	if rt != nil {
		rt(conf)
	}
	r, err := cni.AddNetworkList(context.Background(), list, conf)
	if err != nil {
		return "", "", fmt.Errorf("CNI ADD %s: %w", id, err)
	}
	w.Undo = append(w.Undo, func() {
		if err := cni.DelNetworkList(context.Background(), list, conf); err != nil {
			w.Logf("CNI DEL %s: %v", id, err)
		}
	})
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		return "", "", fmt.Errorf("CNI ADD %s: no address in the result (%v)", id, err)
	}
	return ns, res.IPs[0].Address.IP.String(), nil
}

// Close undoes everything, the last made first, stops the daemon, takes
// the sandbox down, and fails if any of namespaces (or the host's) is
// left.
func (w *BenchWorld) Close(namespaces ...string) error {
	for i := len(w.Undo) - 1; i >= 0; i-- {
		w.Undo[i]()
	}
	if w.D != nil {
		w.D.Stop()
	}
	if w.H != nil {
		w.H.Close()
	}
	if w.Sbx == nil {
		return nil
	}
	var left []string
	for _, ns := range append(namespaces, w.Sbx.Netns) {
		if ns != "" {
			if _, err := os.Stat(NsPath(ns)); err == nil {
				left = append(left, ns)
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("namespaces left: %s", strings.Join(left, ", "))
	}
	return nil
}
