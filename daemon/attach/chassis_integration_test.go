package attach

import (
	"errors"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationSameContainerTwoHosts (defect 8): the same container ID
// and ifname on two hosts of one Northbound make two ports; B's ADD, DEL
// and GC leave A's attachment alone.
func TestIntegrationSameContainerTwoHosts(t *testing.T) {
	c := newCluster(t)
	a, b := c.host("chassis-a"), c.host("chassis-b")
	ctx := testCtx(t, 60*time.Second)
	ra, rb := req("same-id", "eth0", netns(t, "a")), req("same-id", "eth0", netns(t, "b"))
	resA, err := a.m.Add(ctx, ra)
	if err != nil {
		t.Fatalf("ADD on A: %v", err)
	}
	resB, err := b.m.Add(ctx, rb)
	if err != nil {
		t.Fatalf("ADD on B: %v", err)
	}
	if resA.Port == resB.Port || resA.HostIfname == resB.HostIfname {
		t.Fatalf("A and B share a name: %+v / %+v", resA, resB)
	}
	if err := a.m.Check(ctx, ra); err != nil {
		t.Fatalf("CHECK on A after B's ADD: %v", err)
	}
	if err := b.m.Del(ctx, rb); err != nil {
		t.Fatalf("DEL on B: %v", err)
	}
	if err := b.m.Del(ctx, rb); err != nil {
		t.Fatalf("second DEL on B: %v", err)
	}
	if _, err := b.m.GC(ctx, "qn", nil); err != nil {
		t.Fatalf("GC on B: %v", err)
	}
	if err := a.m.Check(ctx, ra); err != nil {
		t.Fatalf("CHECK on A after B's DEL and GC: %v", err)
	}
	if err := a.m.Del(ctx, ra); err != nil {
		t.Fatalf("DEL on A: %v", err)
	}
}

// TestIntegrationLegacyNames (defect 8): a port made under the legacy name
// (container ID and ifname only) is still found by DEL and CHECK of its
// own chassis, and never deleted by another chassis' DEL or ADD.
func TestIntegrationLegacyNames(t *testing.T) {
	// Host interfaces of this test's fixed names left by an interrupted
	// earlier run would be taken for this run's.
	for _, ch := range []string{"", "chassis-a", "chassis-b"} {
		_ = hostnet.DeleteHostVeth(HostIfname(ch, "legacy-id", "eth0"))
	}
	c := newCluster(t)
	a, b := c.host("chassis-a"), c.host("chassis-b")
	ctx := testCtx(t, 60*time.Second)
	ra := req("legacy-id", "eth0", netns(t, "la"))
	if _, err := a.m.Add(ctx, ra); err != nil {
		t.Fatal(err)
	}
	legacy, lhost := PortName("", ra.ContainerID, ra.Ifname), HostIfname("", ra.ContainerID, ra.Ifname)
	// Rename A's attachment to what an earlier release made.
	renameLegacy(t, c, a, ra, legacy, lhost)
	if err := a.m.Check(ctx, ra); err != nil {
		t.Fatalf("CHECK of a legacy-named attachment: %v", err)
	}
	// B, with the same container ID: DEL does not touch A's port, ADD
	// makes its own.
	rb := req("legacy-id", "eth0", netns(t, "lb"))
	if err := b.m.Del(ctx, rb); err != nil {
		t.Fatalf("DEL on B: %v", err)
	}
	resB, err := b.m.Add(ctx, rb)
	if err != nil || resB.Port == legacy {
		t.Fatalf("ADD on B = %+v, %v; want its own port", resB, err)
	}
	if _, err := c.nb.LookupPort(legacy); err != nil {
		t.Fatalf("A's legacy port after B's DEL and ADD: %v", err)
	}
	if err := a.m.Check(ctx, ra); err != nil {
		t.Fatalf("CHECK on A after B's DEL and ADD: %v", err)
	}
	// A deleting a port of another chassis is refused.
	p, _ := a.m.NB.LookupPort(resB.Port)
	if err := a.m.remove(ctx, p.Name, p.HostIfname); !errors.Is(err, errs.Conflict) {
		t.Fatalf("A removing B's port = %v, want a conflict", err)
	}
	// A's DEL finds its legacy port.
	if err := a.m.Del(ctx, ra); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := c.nb.LookupPort(legacy); return err != nil }, "legacy port not deleted")
	if a.ovsPort(lhost) {
		t.Fatalf("legacy OVS port %s left behind", lhost)
	}
}

// renameLegacy recreates r's attachment on h under the legacy names: the
// logical port and the OVS port (the veth keeps its name; the port records
// it).
func renameLegacy(t *testing.T, c *cluster, h *host, r Request, legacy, lhost string) {
	t.Helper()
	name := PortName(h.m.Chassis, r.ContainerID, r.Ifname)
	host := HostIfname(h.m.Chassis, r.ContainerID, r.Ifname)
	c.nbSrv.Run("ovn-nbctl", "--db="+c.nbSrv.Remote, "set", "Logical_Switch_Port", name, "name="+legacy)
	h.srv.Run("ovs-vsctl", "--db="+h.srv.Remote, "--no-wait", "--", "set", "Port", host,
		"external_ids:"+keyQuote(keys.Port)+"="+legacy, "--", "set", "Interface", host,
		"external_ids:iface-id="+legacy, "external_ids:"+keyQuote(keys.Port)+"="+legacy)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := c.nb.LookupPort(legacy); return err == nil }, "renamed port")
	// The manager's own caches see the rename (ovs-vsctl --no-wait returns
	// before h's OVS monitor has the update).
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, err := h.m.NB.LookupPort(legacy)
		iface, ierr := h.m.OVS.GetInterface(host)
		return err == nil && ierr == nil && iface.ExternalIDs[ovs.KeyIfaceID] == legacy
	}, "the rename in the manager's caches")
	_ = lhost
}

func keyQuote(k string) string { return `"` + k + `"` }
