package harness

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
)

// CNI drives the plugin binary through libcni, as a container runtime does.
type CNI struct {
	Config *libcni.CNIConfig
	List   *libcni.NetworkConfigList
}

// NewCNI is a libcni driver of the plugins in bin for the config list
// conf, with its own cache directory.
func NewCNI(t testing.TB, bin, conf string) (*CNI, error) {
	t.Helper()
	list, err := libcni.ConfListFromBytes([]byte(conf))
	if err != nil {
		return nil, err
	}
	return &CNI{Config: libcni.NewCNIConfigWithCacheDir([]string{bin}, t.TempDir(), nil), List: list}, nil
}

// ConfList is a CNI config list of one quantumnet plugin on network,
// reaching the daemon at socket; extra is more JSON members (`,"k":v`).
func ConfList(name, network, socket, extra string) string {
	return fmt.Sprintf(`{"cniVersion":"1.1.0","name":%q,"plugins":[{"type":"quantumnet","network":%q,"socket":%q%s}]}`, name, network, socket, extra)
}

// RT is the runtime config of one attachment.
func RT(id, netns, ifname string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname}
}

// NetnsName is the name Netns gives a namespace: name, made unique to
// this test process.
func NetnsName(name string) string { return fmt.Sprintf("qne2e-%s-%d", name, os.Getpid()%100000) }

// Netns creates a network namespace standing for a container, removed when
// the test ends, and returns its path.
func Netns(t testing.TB, name string) string {
	t.Helper()
	name = NetnsName(name)
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

// NsName is the name of the namespace at path.
func NsName(path string) string { return filepath.Base(path) }

// Ping pings addr three times from the namespace at (or named) ns.
func Ping(ns, addr string) error {
	out, err := exec.Command("ip", "netns", "exec", NsName(ns), "ping", "-c", "3", "-i", "0.2", "-W", "2", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v\n%s", addr, NsName(ns), err, out)
	}
	return nil
}

// Context is a context ending with the test, after 60 s at most.
func Context(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// UUID is a random UUID (a libvirt interfaceid, a domain's).
func UUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
