package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/harness"
)

// scaleN is how many containers TestScaleHundred attaches: the small
// version of test/bench/scale's thousand.
const scaleN = 100

// TestScaleHundred checks the scale test/bench/scale claims, at 100
// containers on one chassis: every ADD through the plugin gets its own
// address, every logical port comes up, the datapath carries packets from
// the first container to the last, and CNI GC with a valid list missing
// every tenth attachment removes exactly those (logical ports, OVS ports,
// veths) and keeps the others working.
func TestScaleHundred(t *testing.T) {
	d := readyDaemon(t)
	const network = "e2e-scale"
	d.MustNetwork(network, "--subnet4", "10.215.0.0/22")
	t.Cleanup(func() { d.Qnetctl("network", "delete", network) })
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("scalenet", network, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	nss := scaleNamespaces(t, scaleN)
	ids := make([]string, scaleN)
	ips := make([]string, scaleN)
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range scaleN {
		ids[i] = fmt.Sprintf("scale-%03d", i)
		rt := harness.RT(ids[i], "/var/run/netns/"+nss[i], "eth0")
		t.Cleanup(func() { _ = c.Config.DelNetworkList(context.Background(), c.List, rt) })
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt)
			var res *current.Result
			if err == nil {
				res, err = current.NewResultFromResult(r)
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil && len(res.IPs) != 1 {
				err = fmt.Errorf("%d addresses in the result", len(res.IPs))
			}
			if err != nil {
				failed = append(failed, fmt.Errorf("ADD %s: %w", rt.ContainerID, err))
				return
			}
			ips[i] = res.IPs[0].Address.IP.String()
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d ADDs failed; first: %v", len(failed), scaleN, failed[0])
	}
	if u := slices.Compact(slices.Sorted(slices.Values(ips))); len(u) != scaleN {
		t.Fatalf("%d distinct addresses for %d containers", len(u), scaleN)
	}
	wantAttached(t, t.Fatalf, "after the ADDs", network, scaleN)
	if up := portsUp(t, network); up != scaleN {
		t.Errorf("%d logical ports up, want %d", up, scaleN)
	}
	if err := harness.Ping(nss[0], ips[scaleN-1]); err != nil {
		t.Fatal(err)
	}

	var valid []types.GCAttachment
	var keep []string
	for i, id := range ids {
		if i%10 != 9 {
			valid = append(valid, types.GCAttachment{ContainerID: id, IfName: "eth0"})
			keep = append(keep, id)
		}
	}
	if err := c.Config.GCNetworkList(harness.Context(t), c.List, &libcni.GCArgs{ValidAttachments: valid}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	wantAttached(t, t.Errorf, "after GC", network, len(keep))
	if got := containerIDs(t, network); !slices.Equal(got, keep) {
		t.Errorf("after GC the logical ports are of %v, want %v", got, keep)
	}
	if err := harness.Ping(nss[0], ips[scaleN-2]); err != nil {
		t.Errorf("after GC: %v", err)
	}
}

// scaleNamespaces makes n namespaces in one ip -batch, deleted (in one)
// when the test ends.
func scaleNamespaces(t *testing.T, n int) []string {
	t.Helper()
	var add, del strings.Builder
	out := make([]string, n)
	for i := range out {
		out[i] = harness.NetnsName(fmt.Sprintf("sc%03d", i))
		fmt.Fprintf(&add, "netns add %s\n", out[i])
		fmt.Fprintf(&del, "netns del %s\n", out[i])
	}
	t.Cleanup(func() { ipBatch(del.String(), "-force") })
	if err := ipBatch(add.String()); err != nil {
		t.Fatal(err)
	}
	return out
}

func ipBatch(cmds string, opts ...string) error {
	c := exec.Command("ip", append(opts, "-batch", "-")...)
	c.Stdin = strings.NewReader(cmds)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch: %v: %s", err, out)
	}
	return nil
}

// portsUp counts the network's logical ports that OVN reports up.
func portsUp(t *testing.T, network string) int {
	t.Helper()
	out := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=up", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:network="+network)
	return strings.Count(out, "true")
}

// containerIDs lists the container ids of the network's logical ports, sorted.
func containerIDs(t *testing.T, network string) []string {
	t.Helper()
	out := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=external_ids", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:network="+network)
	var ids []string
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "quantumnet:container-id="); ok {
			ids = append(ids, v)
		}
	}
	slices.Sort(ids)
	return ids
}
