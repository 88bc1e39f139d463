package ovs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// batchClient is a client of a fresh database with br-int in its cache.
func batchClient(t *testing.T) (*ovs.Client, *ovsdbtest.Server, context.Context) {
	t.Helper()
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	ctx := ovsdbtest.Context(t, 20*time.Second)
	if _, err := c.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := c.GetBridge("br-int"); return err == nil },
		"the client's cache never showed br-int")
	return c, srv, ctx
}

type batchOutcome struct {
	batch int
	err   error
}

// queueAdds starts BatchedAddPort for ports while the batcher is held
// (as if a transaction were in flight), waits until all of them queued,
// releases them as one batch and returns each call's outcome.
func queueAdds(t *testing.T, c *ovs.Client, ctx context.Context, ports []ovs.NewPort) []batchOutcome {
	t.Helper()
	c.HoldBatches()
	out := make([]batchOutcome, len(ports))
	var wg sync.WaitGroup
	for i, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := c.BatchedAddPort(ctx, p)
			out[i] = batchOutcome{n, err}
		}()
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return c.QueuedPorts() == len(ports) },
		"%d BatchedAddPort calls never all queued", len(ports))
	c.ReleaseBatches()
	wg.Wait()
	return out
}

func newPorts(n int, prefix string) []ovs.NewPort {
	var ps []ovs.NewPort
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		ps = append(ps, ovs.NewPort{Bridge: "br-int", Name: name,
			IfaceIDs: map[string]string{ovs.KeyIfaceID: "lsp-" + name}, PortIDs: map[string]string{"quantumnet:port": "lsp-" + name}})
	}
	return ps
}

// brPorts lists br-int's ports (ovs-vsctl, independent of the client).
func brPorts(srv *ovsdbtest.Server) []string {
	out := vsctl(srv, "list-ports", "br-int")
	if out == "" {
		return nil
	}
	return strings.Fields(out)
}

// Ports added while a transaction is in flight go in one transaction.
func TestIntegrationOVSBatchedAddPortCoalesces(t *testing.T) {
	c, srv, ctx := batchClient(t)

	// Alone: committed at once, a batch of one.
	if n, err := c.BatchedAddPort(ctx, newPorts(1, "qn-solo")[0]); err != nil || n != 1 {
		t.Fatalf("BatchedAddPort alone = %d, %v; want 1, nil", n, err)
	}

	ports := newPorts(8, "qn-b")
	before := srv.Requests("transact")
	for i, o := range queueAdds(t, c, ctx, ports) {
		if o.err != nil || o.batch != len(ports) {
			t.Errorf("port %s: BatchedAddPort = %d, %v; want %d, nil", ports[i].Name, o.batch, o.err, len(ports))
		}
	}
	if n := srv.Requests("transact") - before; n != 1 {
		t.Errorf("8 queued ports took %d transactions, want 1", n)
	}
	got := brPorts(srv)
	for _, p := range ports {
		if !slices.Contains(got, p.Name) {
			t.Errorf("br-int lacks %s after the batch (ports: %v)", p.Name, got)
		}
		if id := srv.Row("Interface", []string{"external_ids"}, "name="+p.Name).Map("external_ids")[ovs.KeyIfaceID]; id != "lsp-"+p.Name {
			t.Errorf("interface %s: iface-id %q, want lsp-%s", p.Name, id, p.Name)
		}
	}
	if len(got) != 1+len(ports) { // the solo one, the batch (list-ports omits br-int's own)
		t.Errorf("br-int has %d ports %v, want %d", len(got), got, 1+len(ports))
	}
}

// A port that cannot be added fails alone: the others of its batch are
// added (the failed batch is retried one by one).
func TestIntegrationOVSBatchedAddPortErrorsStayOwn(t *testing.T) {
	c, srv, ctx := batchClient(t)
	vsctl(srv, "add-port", "br-int", "qn-taken", "--", "set", "Interface", "qn-taken", "external_ids:iface-id=old")

	ports := newPorts(6, "qn-e")
	ports[2].Name = "qn-taken"     // exists: the batch's wait fails
	ports[4].Bridge = "br-missing" // no such bridge: the batch cannot even be built
	before := srv.Requests("transact")
	outs := queueAdds(t, c, ctx, ports)
	for i, o := range outs {
		switch i {
		case 2:
			if !errors.Is(o.err, ovs.ErrExists) {
				t.Errorf("port on a taken name: %v, want ErrExists", o.err)
			}
		case 4:
			if !errors.Is(o.err, ovs.ErrNotFound) {
				t.Errorf("port on a missing bridge: %v, want ErrNotFound", o.err)
			}
		default:
			if o.err != nil {
				t.Errorf("port %s failed with its batch: %v", ports[i].Name, o.err)
			}
		}
	}
	got := brPorts(srv)
	for i, p := range ports {
		if i != 2 && i != 4 && !slices.Contains(got, p.Name) {
			t.Errorf("br-int lacks %s (ports: %v)", p.Name, got)
		}
	}
	if rows := srv.Rows("Port", []string{"_uuid"}, "name="+ports[4].Name); len(rows) != 0 {
		t.Errorf("the port on a missing bridge left rows: %v", rows)
	}
	if id := srv.Row("Interface", []string{"external_ids"}, "name=qn-taken").Map("external_ids")[ovs.KeyIfaceID]; id != "old" {
		t.Errorf("the taken port's iface-id = %q, want it untouched (old)", id)
	}
	// One failed batch (the missing bridge fails it before any
	// transaction), then each alone: 5 transactions for 6 ports.
	if n := srv.Requests("transact") - before; n != 5 {
		t.Errorf("transactions = %d, want 5 (each of the 5 ports on br-int alone)", n)
	}

	// A batch failing only in the database (name taken) is retried too.
	more := newPorts(3, "qn-f")
	more[1].Name = "qn-taken"
	before = srv.Requests("transact")
	outs = queueAdds(t, c, ctx, more)
	if outs[0].err != nil || outs[2].err != nil || !errors.Is(outs[1].err, ovs.ErrExists) {
		t.Errorf("batch with a taken name: %v, %v, %v; want nil, ErrExists, nil", outs[0].err, outs[1].err, outs[2].err)
	}
	if n := srv.Requests("transact") - before; n != 4 {
		t.Errorf("transactions = %d, want 4 (the failed batch, then 3 alone)", n)
	}
}
