package ovs

import (
	"context"
	"testing"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovs/vswitchd"
)

// TestWhereReachesLibovsdbInternals: SetWhere sends monitor_cond_change
// through fields of libovsdb's client that its API does not export; this
// fails when an upgrade of libovsdb renames or retypes them.
func TestWhereReachesLibovsdbInternals(t *testing.T) {
	dbm, err := vswitchd.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewOVSDBClient(dbm)
	if err != nil {
		t.Fatal(err)
	}
	in, err := internalsOf(c, dbm.Name())
	if err != nil {
		t.Fatal(err)
	}
	if in.rpcMu == nil || in.rpc == nil || in.monMu == nil {
		t.Fatalf("internals incomplete: %+v", in)
	}
	in.rpcMu.RLock()
	connected := *in.rpc != nil
	in.rpcMu.RUnlock()
	if connected {
		t.Fatal("a client never connected has an RPC client")
	}
	if _, err := internalsOf(c, "No_Such_DB"); err == nil {
		t.Fatal("internalsOf an unknown database succeeded")
	}
}

// TestSetWhereBeforeConnect: before the first connection SetWhere only
// records the conditions (of a table monitored with conditions).
func TestSetWhereBeforeConnect(t *testing.T) {
	dbm, err := vswitchd.FullDatabaseModel()
	if err != nil {
		t.Fatal(err)
	}
	cfg := DialConfig{Name: "ovs", Remotes: []string{"unix:/nonexistent/ovs.sock"},
		Where: map[string][]ovsdb.Condition{"Bridge": {{Column: "name", Function: ovsdb.ConditionEqual, Value: "br-int"}}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := Dial(ctx, dbm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetWhere(ctx, "Bridge", nil); err != nil {
		t.Fatalf("SetWhere before connecting: %v", err)
	}
	conn.cond.mu.Lock()
	w := conn.cond.where["Bridge"]
	conn.cond.mu.Unlock()
	if w == nil || len(w) != 0 {
		t.Fatalf("recorded conditions %v, want [] (every row)", w)
	}
	if err := conn.SetWhere(ctx, "Interface", nil); err == nil {
		t.Fatal("SetWhere of a table monitored whole succeeded")
	}
}
