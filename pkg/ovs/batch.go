package ovs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovs/vswitchd"
)

// NewPort is one port of AddPorts: a system port (Type "") or another
// interface type, with the external_ids of its Interface and Port rows.
type NewPort struct {
	Bridge, Name, Type string
	IfaceIDs, PortIDs  map[string]string
}

// AddPorts adds every port in one transaction (per port: a wait that no
// port has its name, its Interface and Port rows; per bridge: one mutate
// of its ports). One ovs-vswitchd reconfiguration then covers them all.
// The transaction is atomic: any error fails every port (BatchedAddPort
// retries each alone then).
func (c *Client) AddPorts(ctx context.Context, ports []NewPort) error {
	if err := c.Ready(); err != nil {
		return err
	}
	var ops, muts []ovsdb.Operation
	byBridge := map[string][]string{}
	var bridges []string
	for i, p := range ports {
		if _, ok := byBridge[p.Bridge]; !ok {
			bridges = append(bridges, p.Bridge)
		}
		ifUUID, portUUID := "iface"+strconv.Itoa(i), "port"+strconv.Itoa(i)
		iface := &vswitchd.Interface{UUID: ifUUID, Name: p.Name, Type: p.Type, ExternalIDs: p.IfaceIDs}
		port := &vswitchd.Port{UUID: portUUID, Name: p.Name, Interfaces: []string{ifUUID}, ExternalIDs: p.PortIDs}
		create, err := c.createAll(iface, port)
		if err != nil {
			return err
		}
		ops = append(append(ops, WaitNoRow(vswitchd.PortTable, "name", p.Name)), create...)
		byBridge[p.Bridge] = append(byBridge[p.Bridge], portUUID)
	}
	for _, name := range bridges {
		br, err := c.GetBridge(name)
		if err != nil {
			return err
		}
		mut, err := c.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationInsert, Value: byBridge[name]})
		if err != nil {
			return err
		}
		muts = append(muts, mut...)
	}
	what := "add port " + ports[0].Name
	if len(ports) > 1 {
		what = fmt.Sprintf("add %d ports (%s, ...)", len(ports), ports[0].Name)
	}
	return c.transact(ctx, what, append(ops, muts...))
}

// portBatcher coalesces the BatchedAddPort calls that arrive while a
// transaction of theirs is in flight into the next one: the first call
// commits at once (no added latency when alone); the calls queued during
// its transaction go together in one transaction, led by the first of
// them, and so on.
type portBatcher struct {
	mu    sync.Mutex
	busy  bool
	queue []*portCall
}

// portCall is one queued BatchedAddPort: it is told either its result
// (done) or that it leads the next batch (lead).
type portCall struct {
	port NewPort
	done chan portResult
	lead chan []*portCall
}

type portResult struct {
	batch int   // ports in the transaction that carried it
	err   error // errRetryAlone: the batch failed, retry alone
}

var errRetryAlone = errors.New("batch failed: retry alone")

// BatchedAddPort is AddPort through the client's batcher: ports added
// while another batch is in flight share the next transaction (and so
// ovs-vswitchd's reconfiguration). A failed batch is retried one port at
// a time, so a port's error is its own and never fails the others. It
// returns how many ports the successful transaction carried.
func (c *Client) BatchedAddPort(ctx context.Context, p NewPort) (batch int, err error) {
	call := &portCall{port: p, done: make(chan portResult, 1), lead: make(chan []*portCall, 1)}
	b := &c.batch
	b.mu.Lock()
	if b.busy {
		b.queue = append(b.queue, call)
		b.mu.Unlock()
		select {
		case r := <-call.done:
			return c.settle(ctx, p, r)
		case calls := <-call.lead:
			return c.settle(ctx, p, c.runBatch(ctx, calls))
		}
	}
	b.busy = true
	b.mu.Unlock()
	return c.settle(ctx, p, c.runBatch(ctx, []*portCall{call}))
}

// settle turns a batch result into the call's: alone again when the
// batch failed.
func (c *Client) settle(ctx context.Context, p NewPort, r portResult) (int, error) {
	if errors.Is(r.err, errRetryAlone) {
		return 1, c.AddPorts(ctx, []NewPort{p})
	}
	return r.batch, r.err
}

// runBatch commits calls (calls[0] is the caller's own), tells the others
// their result, and hands the queue gathered meanwhile to its first call
// (or marks the batcher idle). It returns the caller's result.
func (c *Client) runBatch(ctx context.Context, calls []*portCall) portResult {
	ports := make([]NewPort, len(calls))
	for i, cl := range calls {
		ports[i] = cl.port
	}
	r := portResult{batch: len(calls)}
	if len(calls) == 1 {
		r.err = c.AddPorts(ctx, ports)
	} else if err := c.AddPorts(context.WithoutCancel(ctx), ports); err != nil {
		// The batch is one atomic transaction: which port broke it (or
		// whether the leader's ctx did) is for each alone to find out.
		c.log.Debug("batched OVS port insert failed, retrying one by one", "ports", len(ports), "err", err)
		r.err = errRetryAlone
	}
	for _, cl := range calls[1:] {
		cl.done <- r
	}
	c.batch.handOff()
	return r
}

// handOff gives the calls queued during a transaction to the first of
// them to commit, or marks the batcher idle.
func (b *portBatcher) handOff() {
	b.mu.Lock()
	next := b.queue
	b.queue = nil
	b.busy = len(next) > 0
	b.mu.Unlock()
	if len(next) > 0 {
		next[0].lead <- next
	}
}
