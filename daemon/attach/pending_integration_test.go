package attach

import (
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestIntegrationPendingDel (defect 5): a DEL the plugin recorded while
// the daemon was away is done when the daemon is back (logical port,
// address, OVS port and veth gone, record removed); a record older than a
// later ADD of the same attachment does not undo that ADD.
func TestIntegrationPendingDel(t *testing.T) {
	c := newCluster(t)
	h := c.host("chassis-a")
	h.m.PendingDelDir = t.TempDir()
	ctx := testCtx(t, 60*time.Second)
	r := req("lost-del", "eth0", netns(t, "ld"))
	res, err := h.m.Add(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	// The plugin's DEL found the daemon down: it left a record.
	if err := api.WritePendingDel(h.m.PendingDelDir, api.PendingDel{ContainerID: r.ContainerID, Ifname: r.Ifname, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h.m.Reconciled.Store(false) // the daemon restarts
	done := make(chan struct{})
	go func() { h.m.RunPendingDels(ctx, 100*time.Millisecond); close(done) }()
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	h.m.Reconciled.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, lspErr := h.m.NB.LookupPort(res.Port)
		recs, _ := api.ReadPendingDels(h.m.PendingDelDir)
		if lspErr != nil && !h.ovsPort(res.HostIfname) && !hostnet.HostVethExists(res.HostIfname) && len(recs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending DEL not finished: port %v, OVS port %v, veth %v, records %v",
				lspErr == nil, h.ovsPort(res.HostIfname), hostnet.HostVethExists(res.HostIfname), recs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A record, then an ADD of the same attachment: the ADD stands.
	if err := api.WritePendingDel(h.m.PendingDelDir, api.PendingDel{ContainerID: r.ContainerID, Ifname: r.Ifname, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := h.m.FinishPendingDels(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Check(ctx, r); err != nil {
		t.Fatalf("an ADD after the record was undone: %v", err)
	}
}
