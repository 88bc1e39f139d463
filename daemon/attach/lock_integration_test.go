package attach

import (
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationConcurrentAdds (defect 9): two ADDs of one attachment at
// once both succeed, fast, with the same port: the second waits for the
// first instead of tearing down its half-built port (which left the first
// waiting for ovn-installed until its deadline, then rolling back).
func TestIntegrationConcurrentAdds(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	ctx := testCtx(t, 60*time.Second)
	for i := 0; i < 3; i++ {
		r := req(fmt.Sprintf("twin-%d", i), "eth0", netns(t, fmt.Sprintf("tw%d", i)))
		var wg sync.WaitGroup
		res := make([]*Result, 2)
		errs := make([]error, 2)
		t0 := time.Now()
		for j := range res {
			wg.Add(1)
			go func() { defer wg.Done(); res[j], errs[j] = h.m.Add(ctx, r) }()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent ADDs of %s: %v / %v", r.ContainerID, errs[0], errs[1])
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Fatalf("concurrent ADDs of %s took %v", r.ContainerID, d)
		}
		if res[0].Port != res[1].Port || res[0].MAC.String() != res[1].MAC.String() || res[0].Addrs[0] != res[1].Addrs[0] {
			t.Fatalf("concurrent ADDs answered differently: %+v / %+v", res[0], res[1])
		}
		if err := h.m.Check(ctx, r); err != nil {
			t.Fatalf("CHECK after concurrent ADDs: %v", err)
		}
	}
}

// TestIntegrationConcurrentAddDel (defect 9): ADD and DEL of one
// attachment at once leave it whole or gone, never half: no logical port
// without its OVS port and veth, no OVS port or veth without its logical
// port.
func TestIntegrationConcurrentAddDel(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	ctx := testCtx(t, 90*time.Second)
	for i := 0; i < 6; i++ {
		r := req(fmt.Sprintf("pair-%d", i), "eth0", netns(t, fmt.Sprintf("pr%d", i)))
		var wg sync.WaitGroup
		var addErr, delErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, addErr = h.m.Add(ctx, r) }()
		go func() { defer wg.Done(); delErr = h.m.Del(ctx, r) }()
		wg.Wait()
		if delErr != nil {
			t.Fatalf("DEL of %s: %v", r.ContainerID, delErr)
		}
		name, host := PortName(h.m.Chassis, r.ContainerID, r.Ifname), HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)
		_, lspErr := h.m.NB.LookupPort(name)
		lsp, ovsp, veth := lspErr == nil, h.ovsPort(host), hostnet.HostVethExists(host)
		switch {
		case lsp && ovsp && veth:
			if addErr != nil {
				t.Fatalf("%s: ADD failed (%v) but left its attachment", r.ContainerID, addErr)
			}
			if err := h.m.Check(ctx, r); err != nil {
				t.Fatalf("%s: whole attachment fails CHECK: %v", r.ContainerID, err)
			}
		case !lsp && !ovsp && !veth:
		default:
			t.Fatalf("%s: half an attachment: logical port %v, OVS port %v, veth %v (ADD: %v)", r.ContainerID, lsp, ovsp, veth, addErr)
		}
		if err := h.m.Del(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A DEL arriving while ADD waits for ovn-controller waits for the ADD
	// (which then succeeds at once) and removes it whole; unserialized, it
	// pulled the OVS port from under the ADD, which waited for its deadline.
	r := req("pair-mid", "eth0", netns(t, "prm"))
	h.hold.Store(true)
	t0 := time.Now()
	addDone := make(chan error, 1)
	go func() { _, err := h.m.Add(ctx, r); addDone <- err }()
	host := HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return h.ovsPort(host) }, "ADD never reached its OVS port")
	delDone := make(chan error, 1)
	go func() { delDone <- h.m.Del(ctx, r) }()
	time.Sleep(300 * time.Millisecond)
	h.hold.Store(false)
	if err := <-addDone; err != nil {
		t.Fatalf("ADD with a DEL arriving mid-way: %v (after %v)", err, time.Since(t0))
	}
	if err := <-delDone; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("ADD and DEL took %v", d)
	}
	if h.ovsPort(host) || hostnet.HostVethExists(host) {
		t.Fatal("DEL left the attachment's OVS port or veth")
	}
}

// TestIntegrationDelWaitsForReconcile (defect 5): before the start-up
// reconcile ran, DEL and CHECK wait for it (the reconcile could re-add the
// OVS port DEL removes), then proceed.
func TestIntegrationDelWaitsForReconcile(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	ctx := testCtx(t, 60*time.Second)
	r := req("early-del", "eth0", netns(t, "ed"))
	if _, err := h.m.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.m.Reconciled.Store(false) // as at start
	done := make(chan error, 1)
	go func() { done <- h.m.Del(ctx, r) }()
	select {
	case err := <-done:
		t.Fatalf("DEL returned (%v) before the start-up reconcile ran", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	h.m.Reconciled.Store(true)
	if err := <-done; err != nil {
		t.Fatalf("DEL after the reconcile: %v", err)
	}
	if h.ovsPort(HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)) {
		t.Fatal("OVS port left after DEL")
	}
}

// TestIntegrationReconcileRespectsDel (defect 5): a reconcile that meets an
// attachment while a DEL of it is under way (OVS port gone, veth and
// logical port not yet) waits for the DEL and does not re-add the OVS
// port.
func TestIntegrationReconcileRespectsDel(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	ctx := testCtx(t, 60*time.Second)
	r := req("mid-del", "eth0", netns(t, "md"))
	if _, err := h.m.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	name, host := PortName(h.m.Chassis, r.ContainerID, r.Ifname), HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)
	// A DEL holds the attachment, its first step done.
	unlock := h.m.lock(r.ContainerID, r.Ifname)
	if err := h.m.OVS.DeletePort(ctx, h.m.Bridge, host); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.m.Reconcile(ctx) }()
	time.Sleep(300 * time.Millisecond)
	// The DEL finishes: veth and logical port.
	if out, err := exec.Command("ip", "link", "del", host).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v %s", host, err, out)
	}
	if err := h.m.Ports.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if h.ovsPort(host) {
		t.Fatal("reconcile re-added the OVS port of an attachment deleted meanwhile")
	}
}
