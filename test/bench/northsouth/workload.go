package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// ovnWorkload makes, with ovn-nbctl and ovs-vsctl, a tenant switch with a
// port on host c, an external switch with a localnet port, a router with
// SNAT and gateway chassis a=30, b=20, c=10.
func (b *bench) ovnWorkload() (*workload, error) {
	ch := func(h string) string { return b.nh.Var("QN_CHASSIS_", h) }
	w := &workload{host: "c", first: ch("a"), second: ch("b"), ns: fmt.Sprintf("qnnsb%d-w", b.pid%100000)}
	w.teardown = append(w.teardown, func() {
		b.nbctl("--if-exists", "lr-del", "nsb-r", "--", "--if-exists", "ls-del", "nsb-t", "--", "--if-exists", "ls-del", "nsb-ext")
	})
	_, err := b.nbctl("ls-add", "nsb-t", "--", "ls-add", "nsb-ext",
		"--", "lsp-add", "nsb-ext", "nsb-ln", "--", "lsp-set-type", "nsb-ln", "localnet", "--", "lsp-set-addresses", "nsb-ln", "unknown",
		"--", "lsp-set-options", "nsb-ln", "network_name="+b.nh.Vars["QN_PHYSNET"],
		"--", "lsp-add", "nsb-t", "nsb-w", "--", "lsp-set-addresses", "nsb-w", "50:54:00:00:32:10 10.232.1.10",
		"--", "lr-add", "nsb-r", "--", "lrp-add", "nsb-r", "nsb-r-t", "00:00:00:00:32:01", "10.232.1.1/24",
		"--", "lrp-add", "nsb-r", "nsb-r-ext", "00:00:00:00:32:02", "192.0.2.2/24",
		"--", "lsp-add", "nsb-t", "nsb-t-r", "--", "lsp-set-type", "nsb-t-r", "router", "--", "lsp-set-addresses", "nsb-t-r", "router",
		"--", "lsp-set-options", "nsb-t-r", "router-port=nsb-r-t",
		"--", "lsp-add", "nsb-ext", "nsb-ext-r", "--", "lsp-set-type", "nsb-ext-r", "router", "--", "lsp-set-addresses", "nsb-ext-r", "router",
		"--", "lsp-set-options", "nsb-ext-r", "router-port=nsb-r-ext",
		"--", "lrp-set-gateway-chassis", "nsb-r-ext", ch("a"), "30", "--", "lrp-set-gateway-chassis", "nsb-r-ext", ch("b"), "20",
		"--", "lrp-set-gateway-chassis", "nsb-r-ext", ch("c"), "10", "--", "lr-nat-add", "nsb-r", "snat", "192.0.2.2", "10.232.1.0/24")
	if err != nil {
		return w, err
	}
	hostNS, ovs := b.nh.Var("QN_NETNS_", "c"), b.nh.Var("QN_OVS_REMOTE_", "c")
	w.teardown = append(w.teardown, func() {
		exec.Command("ip", "netns", "del", w.ns).Run()
		exec.Command("ovs-vsctl", "--db="+ovs, "--if-exists", "del-port", "br-int", "nsbw0").Run()
	})
	for _, c := range [][]string{
		{"ip", "netns", "add", w.ns},
		{"ip", "link", "add", "nsbw0", "netns", hostNS, "type", "veth", "peer", "name", "eth0", "netns", w.ns},
		{"ip", "-n", w.ns, "link", "set", "eth0", "address", "50:54:00:00:32:10", "mtu", "1400", "up"},
		{"ip", "-n", w.ns, "addr", "add", "10.232.1.10/24", "dev", "eth0"},
		{"ip", "-n", w.ns, "route", "add", "default", "via", "10.232.1.1"},
		{"ip", "netns", "exec", w.ns, "ethtool", "-K", "eth0", "tx", "off"},
		{"ip", "netns", "exec", hostNS, "ethtool", "-K", "nsbw0", "tx", "off"},
		{"ip", "-n", hostNS, "link", "set", "nsbw0", "mtu", "1400", "up"},
		{"ovs-vsctl", "--db=" + ovs, "add-port", "br-int", "nsbw0", "--", "set", "Interface", "nsbw0", "external_ids:iface-id=nsb-w"},
	} {
		if err := run(c[0], c[1:]...); err != nil {
			return w, err
		}
	}
	w.active = func() string {
		uuid := b.sbctl("--bare", "--columns=chassis", "find", "Port_Binding", "logical_port=cr-nsb-r-ext")
		if uuid == "" {
			return ""
		}
		return b.sbctl("--bare", "get", "Chassis", uuid, "name")
	}
	return w, nil
}

// qnWorkload makes the same through qnetctl and the CNI plugin: an external
// network, a tenant network on a router with a gateway on it, a container on
// the lowest-priority gateway chassis.
func (b *bench) qnWorkload() (*workload, error) {
	w := &workload{ns: fmt.Sprintf("qnnsb%d-q", b.pid%100000)}
	steps := [][]string{
		{"network", "create", "nsbext", "--external", "--physnet", b.nh.Vars["QN_PHYSNET"], "--subnet4", "192.0.2.0/24",
			"--gateway4", outsideIP, "--fip-range", "192.0.2.200-192.0.2.250"},
		{"network", "create", "nsbt", "--subnet4", "10.232.2.0/24"},
		{"router", "create", "nsbr"}, {"router", "attach", "nsbr", "nsbt"}, {"router", "set-gateway", "nsbr", "nsbext"},
	}
	undo := [][]string{{"network", "delete", "nsbext"}, {"network", "delete", "nsbt"}, {"router", "delete", "nsbr"},
		{"router", "detach", "nsbr", "nsbt"}, {"router", "clear-gateway", "nsbr"}}
	for i, s := range steps {
		if _, err := b.qnetctl(s...); err != nil {
			return w, err
		}
		u := undo[i]
		w.teardown = append(w.teardown, func() { b.qnetctl(u...) })
	}
	var r struct {
		Gateway *struct {
			Chassis []struct {
				Name     string `json:"name"`
				Priority int    `json:"priority"`
			} `json:"chassis"`
			Active string `json:"active_chassis"`
		} `json:"gateway"`
	}
	w.active = func() string {
		out, err := b.qnetctl("-o", "json", "router", "show", "nsbr")
		if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Gateway == nil {
			return ""
		}
		return r.Gateway.Active
	}
	if !ovsdbtest.Until(context.Background(), 20*time.Second, func() bool { return w.active() != "" }) || len(r.Gateway.Chassis) < 3 {
		return w, fmt.Errorf("router nsbr: no active gateway chassis, or fewer than three: %+v", r.Gateway)
	}
	ch := r.Gateway.Chassis
	sort.Slice(ch, func(i, j int) bool { return ch[i].Priority > ch[j].Priority })
	w.first, w.second, w.host = ch[0].Name, ch[1].Name, b.hostOf(ch[len(ch)-1].Name)
	return w, b.container(w, "nsbt")
}

// container attaches namespace w.ns to network through the CNI plugin on
// host w.host's daemon.
func (b *bench) container(w *workload, network string) error {
	if err := run("ip", "netns", "add", w.ns); err != nil {
		return err
	}
	holder := exec.Command("ip", "netns", "exec", w.ns, "sleep", "infinity")
	if err := holder.Start(); err != nil {
		return err
	}
	w.teardown = append(w.teardown, func() { holder.Process.Kill(); holder.Wait(); exec.Command("ip", "netns", "del", w.ns).Run() })
	list, err := libcni.ConfListFromBytes([]byte(harness.ConfList(network, network, b.daemons[w.host].ClientSocket, "")))
	if err != nil {
		return err
	}
	cache, err := os.MkdirTemp(b.h.Tmp, "cni")
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{b.h.Bin}, cache, nil)
	rt := harness.RT("nsbench", fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid), "eth0")
	if _, err := cni.AddNetworkList(context.Background(), list, rt); err != nil {
		return fmt.Errorf("CNI ADD on host %s: %w", w.host, err)
	}
	w.teardown = append(w.teardown, func() { cni.DelNetworkList(context.Background(), list, rt) })
	return nil
}
