package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/harness"
)

// The fixture: one network, one security group that admits TCP 8080 but
// not ICMP, and two containers: srv in the group, cli in none.
const (
	netName   = "con-net"
	subnet4   = "10.231.0.0/24"
	groupName = "con-app"
	groupRule = "ingress tcp 8080"
)

// world is what TestMain made, shared by the tests.
type world struct {
	d        *harness.Daemon
	origin   string // the console's origin as the browser sees it: http://127.0.0.1:PORT
	cni      *harness.CNI
	srv, cli *container
	browser  *browser
}

// container is a network namespace attached through the CNI plugin.
type container struct {
	id, ns, ip4, port string
	rt                *libcni.RuntimeConf
	added             time.Time     // when its CNI ADD returned
	addTook           time.Duration // how long the ADD took
}

// startDaemon starts the daemon with its console on a loopback port of the
// sandbox's host namespace and a forwarder from the same port on this
// namespace's loopback, so that the browser's origin (and the Host header
// the daemon sees) is the console's own address, as with an SSH tunnel.
func startDaemon(e *harness.Env) error {
	fwd, port, err := listenBoth(sbx.Netns)
	if err != nil {
		return err
	}
	e.Cleanup(func() { fwd.Close() })
	go forward(fwd, sbx.Netns, port)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	dir, err := os.MkdirTemp("", "qncon")
	if err != nil {
		return err
	}
	e.Cleanup(func() { os.RemoveAll(dir) })
	c := sbx.DaemonConfig()
	c.Dir, c.ReadyTimeout, c.HTTPListen, c.Console = dir, "15s", listen, true
	d, err := harness.StartDaemon(c)
	if d != nil {
		e.Cleanup(func() {
			d.Stop()
			if os.Getenv("QN_CONSOLE_LOG") == "1" {
				fmt.Printf("console: daemon log (tail):\n%s\n", harness.TailFile(d.LogPath, 60))
			}
		})
	}
	if err != nil {
		return err
	}
	if err := d.WaitReady(20 * time.Second); err != nil {
		return err
	}
	w.d, w.origin = d, "http://"+listen
	return nil
}

// listenBoth listens on 127.0.0.1:PORT here with a PORT that is also free
// in the namespace ns.
func listenBoth(ns string) (net.Listener, int, error) {
	var last error
	for range 20 {
		var port int
		err := harness.InNS(harness.NsPath(ns), func() error {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			port = l.Addr().(*net.TCPAddr).Port
			return l.Close()
		})
		if err != nil {
			return nil, 0, err
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			return l, port, nil
		}
		last = err
	}
	return nil, 0, fmt.Errorf("no loopback port free both here and in %s: %v", ns, last)
}

// forward copies each connection accepted on l to 127.0.0.1:port in the
// namespace ns, until l is closed. A connection the daemon does not take
// (it is stopped) is closed at once, as a refused one would be.
func forward(l net.Listener, ns string, port int) {
	harness.AcceptLoop(l, func(c net.Conn) {
		go func() {
			defer c.Close()
			up, _, err := harness.DialTCP(ns, "127.0.0.1", port, 2*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); done <- struct{}{} }()
			go func() { io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	})
}

// startFixture makes the network, the group and the two containers.
func startFixture(e *harness.Env) error {
	steps := [][]string{
		{"network", "create", netName, "--subnet4", subnet4},
		{"sg", "create", groupName, "--rule", groupRule},
	}
	for _, s := range steps {
		if out, err := w.d.Qnetctl(s...); err != nil {
			return fmt.Errorf("qnetctl %v: %v\n%s", s, err, out)
		}
	}
	e.Cleanup(func() { w.d.Qnetctl("network", "delete", netName) })
	e.Cleanup(func() { w.d.Qnetctl("sg", "delete", groupName) })
	list, err := libcni.ConfListFromBytes([]byte(harness.ConfList("con-cni", netName, w.d.Socket, "")))
	if err != nil {
		return err
	}
	w.cni = &harness.CNI{Config: libcni.NewCNIConfigWithCacheDir([]string{e.Bin}, filepath.Join(e.Tmp, "cni-cache"), nil), List: list}
	if w.srv, err = attach("srv", groupName); err != nil {
		return err
	}
	e.Cleanup(func() { w.srv.detach() })
	if w.cli, err = attach("cli"); err != nil {
		return err
	}
	e.Cleanup(func() { w.cli.detach() })
	return nil
}

// attach makes a namespace and attaches it through the CNI plugin, in the
// security groups named (CNI_ARGS, as a runtime passes them).
func attach(id string, groups ...string) (*container, error) {
	ns, err := harness.MakeNetns(harness.NetnsName("con-" + id))
	if err != nil {
		return nil, err
	}
	c := &container{id: "con-" + id, ns: ns, rt: harness.RT("con-"+id, ns, "eth0")}
	if len(groups) > 0 {
		c.rt.Args = [][2]string{{"IgnoreUnknown", "1"}, {"SECURITY_GROUPS", strings.Join(groups, ",")}}
	}
	ctx, cancel := cniContext()
	defer cancel()
	start := time.Now()
	res, err := w.cni.Config.AddNetworkList(ctx, w.cni.List, c.rt)
	c.added = time.Now()
	c.addTook = c.added.Sub(start)
	if err != nil {
		harness.DelNetns(harness.NsName(ns))
		return nil, fmt.Errorf("CNI ADD %s: %w", c.id, err)
	}
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		return c, errors.Join(err, c.detach())
	}
	for _, ip := range cur.IPs {
		if ip.Address.IP.To4() != nil {
			c.ip4 = ip.Address.IP.String()
		}
	}
	if c.port, err = portOf(c.id); err != nil {
		return c, errors.Join(err, c.detach())
	}
	return c, nil
}

// detach deletes the attachment (CNI DEL) and the namespace; a second
// call does nothing more than the plugin's idempotent DEL.
func (c *container) detach() error {
	ctx, cancel := cniContext()
	defer cancel()
	err := w.cni.Config.DelNetworkList(ctx, w.cni.List, c.rt)
	harness.DelNetns(harness.NsName(c.ns))
	return err
}

// portOf is the logical port of a container, from qnetctl.
func portOf(containerID string) (string, error) {
	out, err := w.d.Qnetctl("-o", "json", "port", "list", "--network", netName)
	if err != nil {
		return "", fmt.Errorf("qnetctl port list: %v\n%s", err, out)
	}
	var ports []struct {
		Name        string `json:"name"`
		ContainerID string `json:"container_id"`
	}
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		return "", fmt.Errorf("qnetctl port list: %v\n%s", err, out)
	}
	for _, p := range ports {
		if p.ContainerID == containerID {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no port of container %s in:\n%s", containerID, out)
}

// cniContext bounds one CNI call.
func cniContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// qnetctl runs qnetctl against the daemon, failing the test on an error.
func qnetctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.d.Qnetctl(args...)
	if err != nil {
		t.Fatalf("qnetctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// logOnFailure shows the daemon's log when the test fails.
func logOnFailure(t *testing.T) {
	var once sync.Once
	t.Cleanup(func() {
		if t.Failed() {
			once.Do(func() { t.Logf("daemon log (tail):\n%s", harness.TailFile(w.d.LogPath, 40)) })
		}
	})
}
