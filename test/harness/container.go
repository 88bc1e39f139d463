package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// Container is a network namespace attached to a network by a host's
// daemon through the CNI plugin binary (the multi-host tests' container).
type Container struct {
	// IP is its IPv4 address, IP6 its IPv6 one ("" on an IPv4-only network).
	NS, IP, IP6, Port, Host string
	// detach is CNI DEL; it also runs when the test ends.
	detach func() error
}

// Del detaches the container now (CNI DEL), failing the test on an error.
func (c *Container) Del(t testing.TB) {
	t.Helper()
	if err := c.detach(); err != nil {
		t.Fatalf("CNI DEL %s: %v", c.NS, err)
	}
}

// Run runs a command in the container and returns its combined output.
func (c *Container) Run(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", c.NS}, args...)...).CombinedOutput()
	return string(out), err
}

// NewContainer attaches a new container named name (namespace
// PREFIX-NAME-PID) on host h, served by daemon d, to network, through the
// plugin in bin; it is detached (CNI DEL) and removed when the test ends,
// or by Del. Its logical port is looked up with qnetctl on d.
func NewContainer(t testing.TB, bin string, d *Daemon, h, prefix, name, network string) *Container {
	t.Helper()
	ns := fmt.Sprintf("%s-%s-%d", prefix, name, os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	// A process holds the namespace: its /proc path is the same in every
	// mount namespace the daemon may run in.
	holder := exec.Command("ip", "netns", "exec", ns, "sleep", "infinity")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	cni, err := NewCNI(t, bin, ConfList(network, network, d.ClientSocket, ""))
	if err != nil {
		t.Fatal(err)
	}
	rt := RT("ns-"+name, fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid), "eth0")
	r, err := cni.Config.AddNetworkList(context.Background(), cni.List, rt)
	if err != nil {
		t.Fatalf("CNI ADD %s on host %s, network %s: %v", name, h, network, err)
	}
	detach := func() error { return cni.Config.DelNetworkList(context.Background(), cni.List, rt) }
	t.Cleanup(func() { detach() })
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		t.Fatalf("CNI ADD %s: result %v, %v", name, r, err)
	}
	c := &Container{Host: h, NS: ns, detach: detach}
	for _, ip := range res.IPs {
		if ip.Address.IP.To4() != nil && c.IP == "" {
			c.IP = ip.Address.IP.String()
		} else if ip.Address.IP.To4() == nil && c.IP6 == "" {
			c.IP6 = ip.Address.IP.String()
		}
	}
	out, err := d.Qnetctl("-o", "json", "port", "list", "--network", network)
	if err != nil {
		t.Fatalf("qnetctl port list --network %s: %v\n%s", network, err, out)
	}
	var ports []struct {
		Name        string `json:"name"`
		ContainerID string `json:"container_id"`
	}
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		t.Fatalf("qnetctl -o json port list: %v\n%s", err, out)
	}
	for _, p := range ports {
		if p.ContainerID == "ns-"+name {
			c.Port = p.Name
		}
	}
	if c.Port == "" {
		t.Fatalf("no port of container ns-%s in `port list --network %s`", name, network)
	}
	return c
}
