package ovn_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// nbctl runs ovn-nbctl on srv: another tenant of the same NB database.
func nbctl(srv *ovsdbtest.Server, args ...string) string {
	return srv.Run("ovn-nbctl", append([]string{"--db=" + srv.Remote, "--timeout=10"}, args...)...)
}

// waitSwitch waits until nb's cache shows network's switch and returns it.
func waitSwitch(t *testing.T, nb *ovn.NB, network string) *nbdb.LogicalSwitch {
	t.Helper()
	var ls *nbdb.LogicalSwitch
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		var err error
		ls, err = nb.GetSwitch(network)
		return err == nil
	}, "GetSwitch(%s) never found the switch", network)
	return ls
}

func switchNames(t *testing.T, nb *ovn.NB) []string {
	t.Helper()
	lss, err := nb.ListSwitches()
	if err != nil {
		t.Fatalf("ListSwitches: %v", err)
	}
	var names []string
	for _, ls := range lss {
		names = append(names, ls.Name)
	}
	slices.Sort(names)
	return names
}

func TestIntegrationNBSwitch(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	ids := map[string]string{keys.Subnet4: "10.0.0.0/24", keys.Gateway4: "10.0.0.1", keys.MTU: "1400"}
	given := maps.Clone(ids)
	ls, err := nb.CreateSwitch(ctx, "blue", ids)
	if err != nil {
		t.Fatalf("CreateSwitch(blue): %v", err)
	}
	if ls.Name != "qn-blue" || ls.ExternalIDs[keys.Network] != "blue" {
		t.Fatalf("CreateSwitch returned %+v, want name qn-blue with %s=blue", ls, keys.Network)
	}
	if !maps.Equal(ids, given) {
		t.Fatalf("CreateSwitch changed the caller's map: %v, was %v", ids, given)
	}

	// In the database, as ovn-nbctl sees it.
	row := srv.Row("Logical_Switch", []string{"_uuid", "external_ids", "ports"}, "name=qn-blue")
	wantIDs := maps.Clone(ids)
	wantIDs[keys.Network] = "blue"
	if !maps.Equal(row.Map("external_ids"), wantIDs) || len(row.Set("ports")) != 0 {
		t.Fatalf("qn-blue in NB = %v, want external_ids %v and no ports", row, wantIDs)
	}

	got := waitSwitch(t, nb, "blue")
	if got.UUID != row.Str("_uuid") || got.Name != "qn-blue" || !maps.Equal(got.ExternalIDs, wantIDs) {
		t.Fatalf("GetSwitch(blue) = %+v, want uuid %s, name qn-blue, external_ids %v", got, row.Str("_uuid"), wantIDs)
	}
	if _, err := nb.GetSwitch("red"); !errors.Is(err, ovn.ErrNotFound) {
		t.Fatalf("GetSwitch(red) before it exists = %v, want ErrNotFound", err)
	}

	if _, err := nb.CreateSwitch(ctx, "red", map[string]string{keys.Subnet4: "10.1.0.0/24"}); err != nil {
		t.Fatalf("CreateSwitch(red): %v", err)
	}
	waitSwitch(t, nb, "red")
	if names := switchNames(t, nb); !slices.Equal(names, []string{"qn-blue", "qn-red"}) {
		t.Fatalf("ListSwitches = %v, want [qn-blue qn-red]", names)
	}

	// Twice: ErrExists, and still one switch of that name, unchanged.
	if _, err := nb.CreateSwitch(ctx, "blue", map[string]string{keys.Subnet4: "192.168.0.0/24"}); !errors.Is(err, ovn.ErrExists) {
		t.Fatalf("second CreateSwitch(blue) = %v, want ErrExists", err)
	}
	if row := srv.Row("Logical_Switch", []string{"external_ids"}, "name=qn-blue"); !maps.Equal(row.Map("external_ids"), wantIDs) {
		t.Fatalf("qn-blue after a second CreateSwitch = %v, want it unchanged (%v)", row.Map("external_ids"), wantIDs)
	}
}

// The switch CreateSwitch returns is the one created: its UUID is the
// row's, so a caller can hand it to CreatePort.
func TestIntegrationNBCreateSwitchReturnsRow(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	ls, err := nb.CreateSwitch(ctx, "blue", map[string]string{keys.Subnet4: "10.0.0.0/24"})
	if err != nil {
		t.Fatalf("CreateSwitch: %v", err)
	}
	if want := srv.Row("Logical_Switch", []string{"_uuid"}, "name=qn-blue").Str("_uuid"); ls.UUID != want {
		t.Errorf("CreateSwitch returned UUID %q, want the row's %s", ls.UUID, want)
	}
	waitSwitch(t, nb, "blue")
	lsp := &nbdb.LogicalSwitchPort{Name: "p1", ExternalIDs: map[string]string{keys.Network: "blue"}}
	if err := nb.CreatePort(ctx, ls, lsp); err != nil {
		t.Errorf("CreatePort on the switch CreateSwitch returned: %v", err)
	}
}

// No extra external_ids is a valid request: the switch gets keys.Network only.
func TestIntegrationNBCreateSwitchNilIDs(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	if err := ovsdbtest.NoPanic(t, func() error { _, err := nb.CreateSwitch(ctx, "plain", nil); return err }); err != nil {
		t.Fatalf("CreateSwitch(plain, nil ids) = %v, want nil", err)
	}
	row := srv.Row("Logical_Switch", []string{"external_ids"}, "name=qn-plain")
	if want := map[string]string{keys.Network: "plain"}; !maps.Equal(row.Map("external_ids"), want) {
		t.Fatalf("qn-plain external_ids = %v, want %v", row.Map("external_ids"), want)
	}
}

// A switch of the same name that is not ours (no quantumnet:network) is
// invisible to GetSwitch, so only the check inside the transaction can
// refuse the duplicate: ErrExists, and the other switch is untouched.
func TestIntegrationNBCreateSwitchNameTaken(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nbctl(srv, "ls-add", "qn-taken", "--", "set", "Logical_Switch", "qn-taken", "external_ids:owner=someone-else")
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	if _, err := nb.CreateSwitch(ctx, "taken", map[string]string{}); !errors.Is(err, ovn.ErrExists) {
		t.Fatalf("CreateSwitch(taken) with a foreign qn-taken = %v, want ErrExists", err)
	}
	row := srv.Row("Logical_Switch", []string{"external_ids"}, "name=qn-taken")
	if want := map[string]string{"owner": "someone-else"}; !maps.Equal(row.Map("external_ids"), want) {
		t.Fatalf("foreign qn-taken external_ids = %v, want %v (untouched)", row.Map("external_ids"), want)
	}
}

// Two daemons (two connections) create the same network at the same
// moment: exactly one wins, the other gets ErrExists, one switch exists.
func TestIntegrationNBConcurrentCreateSwitch(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nbs := []*ovn.NB{ovntest.DialNB(t, srv), ovntest.DialNB(t, srv)}
	ctx := ovsdbtest.Context(t, 30*time.Second)

	const rounds = 20
	raced := 0 // rounds where both transactions reached the server
	for i := range rounds {
		network := fmt.Sprintf("net-%d", i)
		before := srv.Requests("transact")
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, len(nbs))
		for j, nb := range nbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[j] = nb.CreateSwitch(ctx, network, map[string]string{keys.Subnet4: fmt.Sprintf("10.%d.0.0/24", i)})
			}()
		}
		close(start)
		wg.Wait()
		if srv.Requests("transact")-before == 2 {
			raced++
		}
		ok, exists := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ovn.ErrExists):
				exists++
			default:
				t.Errorf("%s: CreateSwitch = %v, want nil or ErrExists", network, err)
			}
		}
		if ok != 1 || exists != 1 {
			t.Fatalf("%s: %d succeeded and %d got ErrExists (%v), want exactly one each", network, ok, exists, errs)
		}
		if rows := srv.Rows("Logical_Switch", []string{"_uuid"}, "name=qn-"+network); len(rows) != 1 {
			t.Fatalf("%s: %d switches named qn-%s, want 1", network, len(rows), network)
		}
	}
	t.Logf("%d of %d rounds had both transactions reach the server", raced, rounds)
	if rows := srv.Rows("Logical_Switch", []string{"_uuid"}); len(rows) != rounds {
		t.Fatalf("%d switches in NB, want %d", len(rows), rounds)
	}
}

func TestIntegrationNBPorts(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nbctl(srv, "ls-add", "other")
	nbctl(srv, "lsp-add", "other", "foreign")
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	if _, err := nb.CreateSwitch(ctx, "blue", map[string]string{keys.Subnet4: "10.0.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	ls := waitSwitch(t, nb, "blue")

	ids := map[string]string{keys.Network: "blue", keys.Kind: keys.KindContainer, keys.ContainerID: "c1", keys.Ifname: "eth0"}
	addr := "0a:58:0a:00:00:05 10.0.0.5"
	lsp := &nbdb.LogicalSwitchPort{Name: "p1", Addresses: []string{addr}, PortSecurity: []string{addr},
		ExternalIDs: ids, Options: map[string]string{keys.OptRequestedChassis: "chassis-1"}}
	if err := nb.CreatePort(ctx, ls, lsp); err != nil {
		t.Fatalf("CreatePort(p1): %v", err)
	}
	ids[keys.PortMAC] = "0a:58:0a:00:00:05" // recorded for the MAC uniqueness wait
	checkOnePort(t, srv, addr, ids)

	checkGetAndListPorts(t, nb, addr, ids)

	// The same name again: ErrExists, still one port on the switch.
	dup := &nbdb.LogicalSwitchPort{Name: "p1", Addresses: []string{"0a:58:0a:00:00:06 10.0.0.6"}, ExternalIDs: map[string]string{keys.Network: "blue"}}
	if err := nb.CreatePort(ctx, ls, dup); !errors.Is(err, ovn.ErrExists) {
		t.Fatalf("second CreatePort(p1) = %v, want ErrExists", err)
	}
	checkOnePort(t, srv, addr, ids)

	// A network with a port cannot be deleted.
	if err := nb.DeleteSwitch(ctx, "blue"); !errors.Is(err, ovn.ErrInUse) {
		t.Fatalf("DeleteSwitch(blue) with a port = %v, want ErrInUse", err)
	}
	checkOnePort(t, srv, addr, ids)

	deletePortThenSwitch(t, ctx, srv, nb)
}

// checkOnePort checks p1 is in NB as created, the only port of qn-blue.
func checkOnePort(t *testing.T, srv *ovsdbtest.Server, addr string, ids map[string]string) {
	t.Helper()
	row := srv.Row("Logical_Switch_Port", []string{"_uuid", "addresses", "port_security", "external_ids", "options"}, "name=p1")
	if !slices.Equal(row.Set("addresses"), []string{addr}) || !slices.Equal(row.Set("port_security"), []string{addr}) ||
		!maps.Equal(row.Map("external_ids"), ids) || row.Map("options")[keys.OptRequestedChassis] != "chassis-1" {
		t.Fatalf("p1 in NB = %v, want addresses/port_security %q, external_ids %v, requested-chassis chassis-1", row, addr, ids)
	}
	sw := srv.Row("Logical_Switch", []string{"ports"}, "name=qn-blue")
	if !slices.Equal(sw.Set("ports"), []string{row.Str("_uuid")}) {
		t.Fatalf("qn-blue ports = %v, want only p1 (%s)", sw.Set("ports"), row.Str("_uuid"))
	}
}

// checkGetAndListPorts reads p1 from the cache, by name and by external ids.
func checkGetAndListPorts(t *testing.T, nb *ovn.NB, addr string, ids map[string]string) {
	t.Helper()
	var got *nbdb.LogicalSwitchPort
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		var err error
		got, err = nb.GetPort("p1")
		return err == nil
	}, "GetPort(p1) never found the port")
	if !maps.Equal(got.ExternalIDs, ids) || !slices.Equal(got.Addresses, []string{addr}) {
		t.Fatalf("GetPort(p1) = %+v, want external_ids %v and addresses %q", got, ids, addr)
	}
	if _, err := nb.GetPort("p2"); !errors.Is(err, ovn.ErrNotFound) {
		t.Fatalf("GetPort(p2) = %v, want ErrNotFound", err)
	}

	for _, tc := range []struct {
		match map[string]string
		want  []string
	}{
		{nil, []string{"p1"}}, // "foreign" on the other switch is not ours
		{map[string]string{keys.ContainerID: "c1"}, []string{"p1"}},
		{map[string]string{keys.ContainerID: "c1", keys.Ifname: "eth0"}, []string{"p1"}},
		{map[string]string{keys.ContainerID: "c1", keys.Ifname: "eth1"}, nil},
		{map[string]string{keys.ContainerID: "c2"}, nil},
	} {
		ports, err := nb.ListPorts(tc.match)
		if err != nil {
			t.Fatalf("ListPorts(%v): %v", tc.match, err)
		}
		var names []string
		for _, p := range ports {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Fatalf("ListPorts(%v) = %v, want %v", tc.match, names, tc.want)
		}
	}
}

// deletePortThenSwitch: DeletePort removes p1 from the table and the switch,
// idempotently; then qn-blue, without ports, can be deleted.
func deletePortThenSwitch(t *testing.T, ctx context.Context, srv *ovsdbtest.Server, nb *ovn.NB) {
	t.Helper()
	// DeletePort: gone from the table and from the switch; idempotent.
	if err := nb.DeletePort(ctx, "p1"); err != nil {
		t.Fatalf("DeletePort(p1): %v", err)
	}
	if rows := srv.Rows("Logical_Switch_Port", []string{"_uuid"}, "name=p1"); len(rows) != 0 {
		t.Fatalf("p1 still in NB after DeletePort: %v", rows)
	}
	if sw := srv.Row("Logical_Switch", []string{"ports"}, "name=qn-blue"); len(sw.Set("ports")) != 0 {
		t.Fatalf("qn-blue ports after DeletePort = %v, want none", sw.Set("ports"))
	}
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := nb.GetPort("p1"); return errors.Is(err, ovn.ErrNotFound) },
		"GetPort(p1) still finds the deleted port")
	for _, name := range []string{"p1", "never-existed"} {
		if err := nb.DeletePort(ctx, name); err != nil {
			t.Fatalf("DeletePort(%s) of a missing port = %v, want nil", name, err)
		}
	}
	// The other tenant's port was not touched.
	srv.Row("Logical_Switch_Port", []string{"_uuid"}, "name=foreign")

	// Without ports the network can be deleted; then it is gone.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { ls, err := nb.GetSwitch("blue"); return err == nil && len(ls.Ports) == 0 },
		"the cache still shows a port on qn-blue")
	if err := nb.DeleteSwitch(ctx, "blue"); err != nil {
		t.Fatalf("DeleteSwitch(blue) without ports: %v", err)
	}
	if rows := srv.Rows("Logical_Switch", []string{"_uuid"}, "name=qn-blue"); len(rows) != 0 {
		t.Fatalf("qn-blue still in NB after DeleteSwitch: %v", rows)
	}
	srv.Row("Logical_Switch", []string{"_uuid"}, "name=other")
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := nb.GetSwitch("blue"); return errors.Is(err, ovn.ErrNotFound) },
		"GetSwitch(blue) still finds the deleted switch")
	if err := nb.DeleteSwitch(ctx, "blue"); !errors.Is(err, ovn.ErrNotFound) {
		t.Fatalf("DeleteSwitch(blue) again = %v, want ErrNotFound", err)
	}
}

// CreatePort on a switch deleted meanwhile (by another daemon, between
// GetSwitch and CreatePort) must fail: a Logical_Switch_Port belongs to no
// switch is garbage-collected at commit, so "success" would mean no port.
func TestIntegrationNBCreatePortOnDeletedSwitch(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	if _, err := nb.CreateSwitch(ctx, "blue", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	ls := waitSwitch(t, nb, "blue")
	nbctl(srv, "ls-del", "qn-blue")
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := nb.GetSwitch("blue"); return errors.Is(err, ovn.ErrNotFound) },
		"the cache still shows the deleted switch")

	err := nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: "p1", ExternalIDs: map[string]string{keys.Network: "blue"}})
	rows := srv.Rows("Logical_Switch_Port", []string{"_uuid"}, "name=p1")
	if err == nil && len(rows) == 0 {
		t.Fatal("CreatePort on a deleted switch returned nil, but no port exists")
	}
	if err == nil {
		t.Fatalf("CreatePort on a deleted switch returned nil (ports: %v), want an error", rows)
	}
}

// A port created and a network deleted at the same moment, from two
// daemons: never both succeed. Either the port exists on its switch and
// the delete was refused (ErrInUse), or the switch is gone and CreatePort
// failed.
func TestIntegrationNBConcurrentDeleteSwitchCreatePort(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a, b := ovntest.DialNB(t, srv), ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 30*time.Second)
	for i := range 20 {
		network := fmt.Sprintf("net-%d", i)
		if _, err := a.CreateSwitch(ctx, network, map[string]string{}); err != nil {
			t.Fatal(err)
		}
		ls := waitSwitch(t, a, network)
		waitSwitch(t, b, network)
		port := "p-" + network
		var createErr, deleteErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			createErr = a.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: port, ExternalIDs: map[string]string{keys.Network: network}})
		}()
		go func() { defer wg.Done(); <-start; deleteErr = b.DeleteSwitch(ctx, network) }()
		close(start)
		wg.Wait()

		switches := srv.Rows("Logical_Switch", []string{"ports"}, "name=qn-"+network)
		ports := srv.Rows("Logical_Switch_Port", []string{"_uuid"}, "name="+port)
		switch {
		case createErr == nil && errors.Is(deleteErr, ovn.ErrInUse):
			if len(switches) != 1 || len(ports) != 1 || !slices.Equal(switches[0].Set("ports"), []string{ports[0].Str("_uuid")}) {
				t.Fatalf("%s: port created, delete refused, but NB has switches %v and ports %v", network, switches, ports)
			}
		case deleteErr == nil && createErr != nil:
			if len(switches) != 0 || len(ports) != 0 {
				t.Fatalf("%s: switch deleted, port refused, but NB has switches %v and ports %v", network, switches, ports)
			}
		default:
			t.Fatalf("%s: CreatePort = %v, DeleteSwitch = %v (NB: switches %v, ports %v); want exactly one to succeed",
				network, createErr, deleteErr, switches, ports)
		}
	}
}

// Rows of other tenants of the same NB (created with ovn-nbctl, without
// quantumnet:network) are never listed, deleted or counted as ours.
func TestIntegrationNBForeignObjects(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	nbctl(srv, "ls-add", "other")
	nbctl(srv, "lsp-add", "other", "foreign", "--", "lsp-set-addresses", "foreign", "0a:00:00:00:00:01 192.168.0.1")
	nb := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	if _, err := nb.CreateSwitch(ctx, "blue", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	// Someone attaches a port of theirs to our switch.
	nbctl(srv, "lsp-add", "qn-blue", "intruder")
	// Updates arrive in order: once the intruder is in the cache, so are
	// the earlier foreign rows.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := nb.GetPort("intruder"); return err == nil },
		"the cache never showed the intruder port")

	if names := switchNames(t, nb); !slices.Equal(names, []string{"qn-blue"}) {
		t.Fatalf("ListSwitches = %v, want only [qn-blue] (not the foreign switch other)", names)
	}
	if ports, err := nb.ListPorts(nil); err != nil || len(ports) != 0 {
		t.Fatalf("ListPorts(nil) = %v, %v; want no port (foreign and intruder are not ours)", ports, err)
	}

	for _, name := range []string{"foreign", "intruder"} {
		before := srv.Row("Logical_Switch_Port", []string{"_uuid", "addresses", "external_ids"}, "name="+name)
		if err := nb.DeletePort(ctx, name); !errors.Is(err, ovn.ErrNotManaged) {
			t.Fatalf("DeletePort(%s) of a port without %s = %v, want ErrNotManaged", name, keys.Network, err)
		}
		after := srv.Row("Logical_Switch_Port", []string{"_uuid", "addresses", "external_ids"}, "name="+name)
		if after.Str("_uuid") != before.Str("_uuid") || !slices.Equal(after.Set("addresses"), before.Set("addresses")) ||
			!maps.Equal(after.Map("external_ids"), before.Map("external_ids")) {
			t.Fatalf("%s changed by a refused DeletePort: %v, was %v", name, after, before)
		}
	}
	if got := nbctl(srv, "lsp-list", "other"); got == "" {
		t.Fatal("the foreign switch lost its port")
	}

	// Our switch carries someone else's port: not deletable.
	if err := nb.DeleteSwitch(ctx, "blue"); !errors.Is(err, ovn.ErrInUse) {
		t.Fatalf("DeleteSwitch(blue) with a foreign port on it = %v, want ErrInUse", err)
	}
	srv.Row("Logical_Switch", []string{"_uuid"}, "name=qn-blue")
}

// Before its first connection (NB down when quantumnetd starts) the client
// has no cache. Every method must then fail with ErrNotConnected, not
// panic: a panic in a gRPC handler (qnetctl network list, CNI DEL/CHECK)
// kills quantumnetd.
func TestIntegrationNBNeverConnected(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	srv.Stop()
	nb := ovntest.OpenNB(t, srv)
	ctx := ovsdbtest.Context(t, 5*time.Second)
	ls := &nbdb.LogicalSwitch{UUID: "6a2c1d38-5a7b-4a4e-9a53-2b1d3c7e9f00", Name: "qn-blue"}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"GetSwitch", func() error { _, err := nb.GetSwitch("blue"); return err }},
		{"ListSwitches", func() error { _, err := nb.ListSwitches(); return err }},
		{"GetPort", func() error { _, err := nb.GetPort("p1"); return err }},
		{"ListPorts", func() error { _, err := nb.ListPorts(nil); return err }},
		{"CreateSwitch", func() error { _, err := nb.CreateSwitch(ctx, "blue", map[string]string{}); return err }},
		{"DeleteSwitch", func() error { return nb.DeleteSwitch(ctx, "blue") }},
		{"CreatePort", func() error {
			return nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: "p1", ExternalIDs: map[string]string{keys.Network: "blue"}})
		}},
		// nil would tell CNI DEL the port is gone while it may exist.
		{"DeletePort", func() error { return nb.DeletePort(ctx, "p1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ovsdbtest.NoPanic(t, tc.call); !errors.Is(err, ovn.ErrNotConnected) {
				t.Errorf("%s before the first connection = %v, want an error wrapping ErrNotConnected", tc.name, err)
			}
		})
	}
}
