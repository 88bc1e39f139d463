package ovs_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// vsctl runs ovs-vsctl on srv's database (no ovs-vswitchd: --no-wait).
func vsctl(srv *ovsdbtest.Server, args ...string) string {
	return srv.Run("ovs-vsctl", append([]string{"--db=" + srv.Remote, "--no-wait", "--timeout=5"}, args...)...)
}

func TestIntegrationOVSConnect(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	srv.Stop()

	// New returns at once and connects in the background.
	start := time.Now()
	c := ovstest.Open(t, srv)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("New took %v with the server down, want it to return at once", d)
	}
	if c.Connected() {
		t.Fatal("Connected() = true while the server is down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := c.WaitConnected(ctx)
	cancel()
	if !errors.Is(err, ovs.ErrNotConnected) {
		t.Fatalf("WaitConnected with the server down = %v, want ErrNotConnected", err)
	}

	srv.Start()
	start = time.Now()
	if err := c.WaitConnected(ovsdbtest.Context(t, 10*time.Second)); err != nil {
		t.Fatalf("WaitConnected after the server started: %v", err)
	}
	t.Logf("connected %v after the server started", time.Since(start))
	root, err := c.Root()
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	if want := srv.Row("Open_vSwitch", []string{"_uuid"}).Str("_uuid"); root.UUID != want {
		t.Fatalf("Root().UUID = %s, want %s", root.UUID, want)
	}
}

// Before its first connection the client has no cache yet. Every method
// must then fail with ErrNotConnected (the daemon maps it to "try again
// later"), not panic: a panic in a gRPC handler kills quantumnetd.
func TestIntegrationOVSNeverConnected(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	srv.Stop()
	c := ovstest.Open(t, srv)
	ctx := ovsdbtest.Context(t, 5*time.Second)
	calls := []struct {
		name string
		call func() error
	}{
		{"Root", func() error { _, err := c.Root(); return err }},
		{"GetBridge", func() error { _, err := c.GetBridge("br-int"); return err }},
		{"GetPort", func() error { _, err := c.GetPort("qn-tap1"); return err }},
		{"GetInterface", func() error { _, err := c.GetInterface("qn-tap1"); return err }},
		{"ListPorts", func() error { _, err := c.ListPorts(nil); return err }},
		{"EnsureExternalIDs", func() error { return c.EnsureExternalIDs(ctx, map[string]string{"system-id": "c1"}) }},
		{"EnsureBridge", func() error { _, err := c.EnsureBridge(ctx, "br-int", "netdev"); return err }},
		{"AddPort", func() error { return c.AddPort(ctx, "br-int", "qn-tap1", nil, nil) }},
		// "A missing port is not an error", but an unknown one is: nil
		// here would tell CNI DEL the port is gone while it may exist.
		{"DeletePort", func() error { return c.DeletePort(ctx, "br-int", "qn-tap1") }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := ovsdbtest.NoPanic(t, tc.call)
			if !errors.Is(err, ovs.ErrNotConnected) {
				t.Errorf("%s before the first connection = %v, want an error wrapping ErrNotConnected", tc.name, err)
			}
		})
	}
	t.Run("WaitInstalled", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := ovsdbtest.NoPanic(t, func() error { return c.WaitInstalled(wctx, "qn-tap1") }); err == nil {
			t.Error("WaitInstalled before the first connection = nil, want an error")
		}
	})
}

func TestIntegrationOVSEnsureExternalIDs(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	vsctl(srv, "set", "Open_vSwitch", ".", "external_ids:hostname=host-1", "external_ids:system-id=old")
	c := ovstest.Dial(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	want := map[string]string{"system-id": "chassis-1", "ovn-remote": "unix:/run/ovn/ovnnb_db.sock", "ovn-encap-type": "geneve"}
	if err := c.EnsureExternalIDs(ctx, want); err != nil {
		t.Fatalf("EnsureExternalIDs: %v", err)
	}
	got := srv.Row("Open_vSwitch", []string{"external_ids"}).Map("external_ids")
	wantAll := maps.Clone(want)
	wantAll["hostname"] = "host-1" // a key nobody asked for is kept
	if !maps.Equal(got, wantAll) {
		t.Fatalf("Open_vSwitch external_ids = %v, want %v", got, wantAll)
	}

	// Once the client has seen its own write, the same keys (or a subset)
	// cost no transaction at all.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		r, err := c.Root()
		return err == nil && r.ExternalIDs["system-id"] == "chassis-1"
	}, "the client's cache never showed its own write")
	before := srv.Requests("transact")
	for _, w := range []map[string]string{want, {"system-id": "chassis-1"}, {}} {
		if err := c.EnsureExternalIDs(ctx, w); err != nil {
			t.Fatalf("EnsureExternalIDs(%v) again: %v", w, err)
		}
	}
	if n := srv.Requests("transact") - before; n != 0 {
		t.Fatalf("EnsureExternalIDs with keys already set sent %d transaction(s), want 0", n)
	}

	// A changed value is written, the other keys kept.
	if err := c.EnsureExternalIDs(ctx, map[string]string{"ovn-encap-type": "vxlan"}); err != nil {
		t.Fatalf("EnsureExternalIDs (change): %v", err)
	}
	if n := srv.Requests("transact") - before; n != 1 {
		t.Fatalf("EnsureExternalIDs with one changed key sent %d transaction(s), want 1", n)
	}
	got = srv.Row("Open_vSwitch", []string{"external_ids"}).Map("external_ids")
	wantAll["ovn-encap-type"] = "vxlan"
	if !maps.Equal(got, wantAll) {
		t.Fatalf("Open_vSwitch external_ids = %v, want %v", got, wantAll)
	}
}

func TestIntegrationOVSEnsureBridge(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)

	dp, err := c.EnsureBridge(ctx, "br-int", "netdev")
	if err != nil || dp != "netdev" {
		t.Fatalf("EnsureBridge = %q, %v; want netdev, nil", dp, err)
	}
	checkBridge := func() {
		t.Helper()
		if got := vsctl(srv, "list-br"); got != "br-int" {
			t.Fatalf("ovs-vsctl list-br = %q, want br-int", got)
		}
		br := srv.Row("Bridge", []string{"_uuid", "datapath_type", "fail_mode", "other_config", "ports"}, "name=br-int")
		if br.Str("datapath_type") != "netdev" || br.Str("fail_mode") != "secure" || br.Map("other_config")["disable-in-band"] != "true" {
			t.Fatalf("br-int = %v, want datapath_type netdev, fail_mode secure, other_config:disable-in-band=true", br)
		}
		port := srv.Row("Port", []string{"_uuid", "interfaces"}, "name=br-int")
		if !slices.Equal(br.Set("ports"), []string{port.Str("_uuid")}) {
			t.Fatalf("br-int ports = %v, want only its own port %s", br.Set("ports"), port.Str("_uuid"))
		}
		iface := srv.Row("Interface", []string{"_uuid", "type"}, "name=br-int")
		if !slices.Equal(port.Set("interfaces"), []string{iface.Str("_uuid")}) || iface.Str("type") != "internal" {
			t.Fatalf("port br-int interfaces = %v, interface = %v; want the internal interface br-int", port.Set("interfaces"), iface)
		}
	}
	checkBridge()

	// Idempotent: an existing bridge is left as it is, even when asked for
	// another datapath type, and nothing is written.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetBridge("br-int"); return err == nil },
		"the client's cache never showed br-int")
	before := srv.Requests("transact")
	for _, dpt := range []string{"netdev", "system"} {
		dp, err := c.EnsureBridge(ctx, "br-int", dpt)
		if err != nil || dp != "netdev" {
			t.Fatalf("EnsureBridge(br-int, %s) on the existing bridge = %q, %v; want netdev, nil", dpt, dp, err)
		}
	}
	if n := srv.Requests("transact") - before; n != 0 {
		t.Fatalf("EnsureBridge of an existing bridge sent %d transaction(s), want 0", n)
	}
	checkBridge()
}

func TestIntegrationOVSAddDeletePort(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	if _, err := c.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetBridge("br-int"); return err == nil },
		"the client's cache never showed br-int")

	ifaceIDs := map[string]string{ovs.KeyIfaceID: "lsp-1", ovs.KeyAttachedMAC: "0a:58:0a:00:00:05", "quantumnet:port": "lsp-1"}
	portIDs := map[string]string{"quantumnet:port": "lsp-1", "quantumnet:container-id": "c1"}
	if err := c.AddPort(ctx, "br-int", "qn-tap1", ifaceIDs, portIDs); err != nil {
		t.Fatalf("AddPort: %v", err)
	}
	checkOnePort(t, srv, ifaceIDs, portIDs)

	checkClientSeesPort(t, c)

	// The same name again: ErrExists, and still exactly one port.
	err := c.AddPort(ctx, "br-int", "qn-tap1", map[string]string{ovs.KeyIfaceID: "lsp-2"}, map[string]string{"quantumnet:port": "lsp-2"})
	if !errors.Is(err, ovs.ErrExists) {
		t.Fatalf("second AddPort(qn-tap1) = %v, want an error wrapping ErrExists", err)
	}
	checkOnePort(t, srv, ifaceIDs, portIDs)

	// On a bridge that does not exist.
	if err := c.AddPort(ctx, "br-nope", "qn-tap2", nil, nil); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("AddPort on a missing bridge = %v, want ErrNotFound", err)
	}
	if rows := srv.Rows("Port", []string{"_uuid"}, "name=qn-tap2"); len(rows) != 0 {
		t.Fatalf("AddPort on a missing bridge left port rows: %v", rows)
	}

	deletePortIdempotent(t, ctx, srv, c)

	// The name is free again.
	if err := c.AddPort(ctx, "br-int", "qn-tap1", ifaceIDs, portIDs); err != nil {
		t.Fatalf("AddPort after DeletePort: %v", err)
	}
	checkOnePort(t, srv, ifaceIDs, portIDs)
}

// checkOnePort checks qn-tap1 is the one port of br-int, with one system
// interface, and the external ids it was added with.
func checkOnePort(t *testing.T, srv *ovsdbtest.Server, ifaceIDs, portIDs map[string]string) {
	t.Helper()
	if got := vsctl(srv, "list-ports", "br-int"); got != "qn-tap1" {
		t.Fatalf("ovs-vsctl list-ports br-int = %q, want qn-tap1", got)
	}
	p := srv.Row("Port", []string{"external_ids", "interfaces"}, "name=qn-tap1")
	if !maps.Equal(p.Map("external_ids"), portIDs) {
		t.Fatalf("port external_ids = %v, want %v", p.Map("external_ids"), portIDs)
	}
	i := srv.Row("Interface", []string{"_uuid", "external_ids", "type"}, "name=qn-tap1")
	if !maps.Equal(i.Map("external_ids"), ifaceIDs) || i.Str("type") != "" {
		t.Fatalf("interface = %v, want a system interface with external_ids %v", i, ifaceIDs)
	}
	if !slices.Equal(p.Set("interfaces"), []string{i.Str("_uuid")}) {
		t.Fatalf("port interfaces = %v, want [%s]", p.Set("interfaces"), i.Str("_uuid"))
	}
}

// checkClientSeesPort: the client sees qn-tap1 too.
func checkClientSeesPort(t *testing.T, c *ovs.Client) {
	t.Helper()
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetPort("qn-tap1"); return err == nil },
		"GetPort(qn-tap1) never found the port")
	if i, err := c.GetInterface("qn-tap1"); err != nil || i.ExternalIDs[ovs.KeyIfaceID] != "lsp-1" {
		t.Fatalf("GetInterface = %+v, %v; want iface-id lsp-1", i, err)
	}
	ports, err := c.ListPorts(map[string]string{"quantumnet:container-id": "c1"})
	if err != nil || len(ports) != 1 || ports[0].Name != "qn-tap1" {
		t.Fatalf("ListPorts(container-id=c1) = %v, %v; want [qn-tap1]", ports, err)
	}
	if ports, err := c.ListPorts(map[string]string{"quantumnet:container-id": "c2"}); err != nil || len(ports) != 0 {
		t.Fatalf("ListPorts(container-id=c2) = %v, %v; want none", ports, err)
	}
}

// deletePortIdempotent: DeletePort removes port and interface; the bridge's
// own port stays.
func deletePortIdempotent(t *testing.T, ctx context.Context, srv *ovsdbtest.Server, c *ovs.Client) {
	t.Helper()
	if err := c.DeletePort(ctx, "br-int", "qn-tap1"); err != nil {
		t.Fatalf("DeletePort: %v", err)
	}
	if got := vsctl(srv, "list-ports", "br-int"); got != "" {
		t.Fatalf("ovs-vsctl list-ports br-int after DeletePort = %q, want none", got)
	}
	for _, tbl := range []string{"Port", "Interface"} {
		if rows := srv.Rows(tbl, []string{"_uuid"}, "name=qn-tap1"); len(rows) != 0 {
			t.Fatalf("%s qn-tap1 still in the database after DeletePort: %v", tbl, rows)
		}
	}
	srv.Row("Port", []string{"_uuid"}, "name=br-int")

	// Idempotent, also for a port that never existed.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetPort("qn-tap1"); return errors.Is(err, ovs.ErrNotFound) },
		"the client's cache still shows qn-tap1")
	for _, name := range []string{"qn-tap1", "qn-never"} {
		if err := c.DeletePort(ctx, "br-int", name); err != nil {
			t.Fatalf("DeletePort(%s) of a missing port = %v, want nil", name, err)
		}
	}
}

// addPort adds a port and waits until the client's cache has it.
func addPort(t *testing.T, c *ovs.Client, name string) {
	t.Helper()
	ctx := ovsdbtest.Context(t, 5*time.Second)
	if _, err := c.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetBridge("br-int"); return err == nil },
		"the client's cache never showed br-int")
	if err := c.AddPort(ctx, "br-int", name, map[string]string{ovs.KeyIfaceID: "lsp-" + name}, nil); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 2*time.Second, func() bool { _, err := c.GetInterface(name); return err == nil },
		"the client's cache never showed interface %s", name)
}

func TestIntegrationOVSWaitInstalled(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	addPort(t, c, "qn-tap1")

	// ovn-controller's part, played by another client: it sets the key a
	// while after the waiter started.
	done := make(chan error, 1)
	go func() { done <- c.WaitInstalled(ovsdbtest.Context(t, 10*time.Second), "qn-tap1") }()
	select {
	case err := <-done:
		t.Fatalf("WaitInstalled returned %v before ovn-installed was set", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Another key, or another value, is not the signal.
	vsctl(srv, "set", "Interface", "qn-tap1", "external_ids:ovn-installed-ts=1", "external_ids:ovn-installed=false")
	select {
	case err := <-done:
		t.Fatalf("WaitInstalled returned %v after ovn-installed=false and an unrelated key were set", err)
	case <-time.After(200 * time.Millisecond):
	}
	set := time.Now()
	vsctl(srv, "set", "Interface", "qn-tap1", "external_ids:ovn-installed=true")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitInstalled = %v, want nil", err)
		}
		t.Logf("WaitInstalled returned %v after ovs-vsctl set the key", time.Since(set))
	case <-time.After(2 * time.Second):
		t.Fatal("WaitInstalled did not return within 2 s of ovn-installed=true")
	}

	// Already set: at once.
	start := time.Now()
	if err := c.WaitInstalled(ovsdbtest.Context(t, 5*time.Second), "qn-tap1"); err != nil {
		t.Fatalf("WaitInstalled on an installed interface = %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("WaitInstalled on an installed interface took %v, want at once", d)
	}
}

func TestIntegrationOVSWaitInstalledDeadline(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	addPort(t, c, "qn-tap1")
	vsctl(srv, "set", "Interface", "qn-tap1", "external_ids:ovn-installed=false")

	for _, name := range []string{"qn-tap1", "qn-missing"} {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := c.WaitInstalled(ctx, name)
		cancel()
		d := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitInstalled(%s) with nobody setting ovn-installed = %v, want a deadline error", name, err)
		}
		if d < 300*time.Millisecond || d > 2*time.Second {
			t.Fatalf("WaitInstalled(%s) gave up after %v, want at its 300 ms deadline", name, d)
		}
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("deadline error %q does not name the interface", err)
		}
	}

	// A waiter that gave up does not disturb a later one.
	waitInstalledOnSet(t, c, srv, "qn-tap1", "after an earlier timeout")
}

// While the server is down the client must say so and must not hang: the
// daemon's Status (CNI STATUS, qnetctl status) reads Connected(); a read
// may answer from the cache or fail, but at once; a write must fail at
// once with ErrNotConnected (as Transact documents) so that CNI gets "try
// again later" instead of waiting for its own timeout. Both for a clean
// stop (systemctl restart) and a crash (SIGKILL).
func TestIntegrationOVSDisconnectDetected(t *testing.T) {
	for _, down := range []string{"stop", "kill"} {
		t.Run(down, func(t *testing.T) {
			srv := ovsdbtest.NewOVS(t)
			c := ovstest.Dial(t, srv)
			addPort(t, c, "qn-tap1")
			if down == "stop" {
				srv.Stop()
			} else {
				srv.Kill()
			}
			time.Sleep(300 * time.Millisecond) // an outage, not a blip

			deadline := time.Now().Add(3 * time.Second)
			for c.Connected() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if c.Connected() {
				t.Errorf("Connected() still true 3 s after ovsdb-server went down (%s)", down)
			}
			var pending []chan error
			check := func(what string, wantErr error, call func() error) {
				t.Helper()
				done := make(chan error, 1)
				start := time.Now()
				go func() { done <- call() }()
				select {
				case err := <-done:
					if wantErr != nil && !errors.Is(err, wantErr) {
						t.Errorf("%s while ovsdb-server is down = %v after %v, want %v", what, err, time.Since(start).Round(time.Millisecond), wantErr)
					}
				case <-time.After(time.Second):
					t.Errorf("%s while ovsdb-server is down (%s): still blocked after 1 s", what, down)
					pending = append(pending, done)
				}
			}
			check("GetPort (a read)", nil, func() error { _, err := c.GetPort("qn-tap1"); return err })
			check("EnsureExternalIDs (a write)", ovs.ErrNotConnected, func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				return c.EnsureExternalIDs(ctx, map[string]string{"system-id": "chassis-1"})
			})

			// Release what is still blocked before the test ends.
			srv.Start()
			for _, done := range pending {
				select {
				case <-done:
				case <-time.After(15 * time.Second):
					t.Error("a blocked call did not return even after the server came back")
				}
			}
		})
	}
}

// After ovsdb-server restarts, the client reconnects by itself, its
// transactions work again, and its monitor (cache and events) is back,
// including what changed while it was away.
func TestIntegrationOVSReconnect(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	addPort(t, c, "qn-tap1")
	addPort(t, c, "qn-tap2")

	srv.Stop()
	ovsdbtest.Eventually(t, 3*time.Second, func() bool { return !c.Connected() },
		"Connected() still true after ovsdb-server stopped")
	// While the client is away, another writer (ovn-controller, an admin)
	// changes the database: qn-tap1 becomes installed.
	srv.Run("ovsdb-tool", "transact", srv.DB, `["Open_vSwitch",{"op":"mutate","table":"Interface",`+
		`"where":[["name","==","qn-tap1"]],"mutations":[["external_ids","insert",["map",[["ovn-installed","true"]]]]]}]`)
	srv.Start()

	// Connected again within a few seconds (the backoff starts at 100 ms
	// and doubles: a short outage costs well under 5 s), and a transaction
	// works.
	start := time.Now()
	ovsdbtest.Eventually(t, 5*time.Second, c.Connected, "the client did not reconnect after the server restarted")
	t.Logf("reconnected %v after the restart", time.Since(start))
	if err := c.EnsureExternalIDs(ovsdbtest.Context(t, 10*time.Second), map[string]string{"system-id": "chassis-1"}); err != nil {
		t.Fatalf("EnsureExternalIDs after the restart: %v", err)
	}
	if got := srv.Row("Open_vSwitch", []string{"external_ids"}).Map("external_ids")["system-id"]; got != "chassis-1" {
		t.Fatalf("system-id after reconnect = %q, want chassis-1", got)
	}

	// The cache was resynchronised: it shows the change made while away.
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		i, err := c.GetInterface("qn-tap1")
		return err == nil && i.ExternalIDs[ovs.KeyOVNInstalled] == "true"
	}, "the client's cache does not show ovn-installed set on qn-tap1 while it was disconnected")
	wctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.WaitInstalled(wctx, "qn-tap1"); err != nil {
		t.Fatalf("WaitInstalled(qn-tap1), installed while the client was away: %v", err)
	}

	ctx := ovsdbtest.Context(t, 5*time.Second)
	if err := c.AddPort(ctx, "br-int", "qn-tap3", nil, nil); err != nil {
		t.Fatalf("AddPort after reconnect: %v", err)
	}
	if got := vsctl(srv, "list-ports", "br-int"); got != "qn-tap1\nqn-tap2\nqn-tap3" {
		t.Fatalf("list-ports after reconnect = %q, want qn-tap1, qn-tap2, qn-tap3", got)
	}

	// Events flow again: WaitInstalled sees another writer's change.
	waitInstalledOnSet(t, c, srv, "qn-tap2", "after reconnect")
}

// waitInstalledOnSet checks that WaitInstalled(iface), waiting, returns
// nil within 2 s of another writer setting ovn-installed=true (when says
// in what state of the test).
func waitInstalledOnSet(t *testing.T, c *ovs.Client, srv *ovsdbtest.Server, iface, when string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.WaitInstalled(ovsdbtest.Context(t, 5*time.Second), iface) }()
	time.Sleep(50 * time.Millisecond)
	vsctl(srv, "set", "Interface", iface, "external_ids:ovn-installed=true")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitInstalled %s = %v", when, err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("WaitInstalled %s did not return within 2 s of ovn-installed=true", when)
	}
}
