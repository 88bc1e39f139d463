package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// watcher is a client of the port stream as qnetctl's `port watch` is
// one (rpcclient.Watch, reconnecting), its events and notes in channels.
type watcher struct {
	t     *testing.T
	evs   chan *api.Event
	notes chan string
	seq   uint64
}

func watchPorts(t *testing.T, d *harness.Daemon, network string) *watcher {
	t.Helper()
	w := &watcher{t: t, evs: make(chan *api.Event, 4096), notes: make(chan string, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	dial := func(ctx context.Context) (api.QuantumNetClient, func(), error) {
		c, err := rpcclient.Dial(ctx, d.ClientSocket, "e2e-watch")
		if err != nil {
			return nil, nil, err
		}
		return c.QuantumNetClient, c.Close, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- rpcclient.Watch(ctx, dial, &api.WatchRequest{Kinds: []string{"port"}, Network: network},
			func(ev *api.Event) error { w.evs <- ev; return nil },
			rpcclient.WatchHooks{Lost: func(error) { w.notes <- "lost" }, Reconnected: func() { w.notes <- "reconnected" }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the watch ended with %v", err)
		}
	})
	return w
}

// next is the next event (seq one more than the last, or 1 on a new
// stream after a reconnection).
func (w *watcher) next() *api.Event {
	w.t.Helper()
	select {
	case ev := <-w.evs:
		if ev.Seq != w.seq+1 && ev.Seq != 1 {
			w.t.Fatalf("seq %d after %d", ev.Seq, w.seq)
		}
		w.seq = ev.Seq
		w.t.Logf("event %d %s %s %v", ev.Seq, ev.Type, ev.Name, ev.Changed)
		return ev
	case <-time.After(60 * time.Second):
		w.t.Fatalf("no event after seq %d", w.seq)
	}
	return nil
}

// snapshot reads up to "synced": the ports named.
func (w *watcher) snapshot() map[string]*api.Port {
	w.t.Helper()
	got := map[string]*api.Port{}
	for {
		ev := w.next()
		switch ev.Type {
		case "synced":
			return got
		case "snapshot":
			got[ev.Name] = ev.Port
		default:
			w.t.Fatalf("%s %s in a snapshot", ev.Type, ev.Name)
		}
	}
}

func (w *watcher) note(want string) {
	w.t.Helper()
	select {
	case n := <-w.notes:
		if n != want {
			w.t.Fatalf("watcher said %q, want %q", n, want)
		}
	case <-time.After(60 * time.Second):
		w.t.Fatalf("watcher never said %q", want)
	}
}

// TestWatchPorts: a client of the port stream sees a container's port
// appear (created, then up on this chassis) and go on DEL; the daemon
// killed and restarted, it reconnects and gets a fresh snapshot that has
// the port another host created meanwhile; stopped, the daemon does not
// wait for the stream.
func TestWatchPorts(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-watch", "--subnet4", "10.240.0.0/24", "--mtu", "1400")
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("watchnet", "e2e-watch", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	w := watchPorts(t, d, "e2e-watch")
	if got := w.snapshot(); len(got) != 0 {
		t.Fatalf("snapshot of a new network: %v", got)
	}

	rt := harness.RT("ctr-watch", harness.Netns(t, "watch"), "eth0")
	if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	ev := w.next()
	if ev.Type != "created" || ev.Port == nil || ev.Port.ContainerId != "ctr-watch" || ev.Port.Network != "e2e-watch" {
		t.Fatalf("first event %s %s: %v, want the container's port created", ev.Type, ev.Name, ev.Port)
	}
	name := ev.Name
	for !ev.Port.Up || ev.Port.BoundChassis != chassis {
		if ev = w.next(); ev.Type != "updated" || ev.Name != name {
			t.Fatalf("waiting for %s up on %s: %s %s %v", name, chassis, ev.Type, ev.Name, ev.Changed)
		}
	}
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	for ev = w.next(); ev.Type != "deleted"; ev = w.next() {
		if ev.Type != "updated" || ev.Name != name { // unbound and down before it goes
			t.Fatalf("waiting for %s deleted: %s %s %v", name, ev.Type, ev.Name, ev.Changed)
		}
	}
	if ev.Name != name {
		t.Fatalf("deleted %s, want %s", ev.Name, name)
	}

	// The daemon crashes; another host's daemon creates a port meanwhile.
	d.Kill()
	w.note("lost")
	const elsewhere = "qn-c-watch-elsewhere"
	sbx.Tool(t, "ovn-nbctl", "lsp-add", "qn-e2e-watch", elsewhere, "--", "lsp-set-addresses", elsewhere, "0a:51:4e:00:98:01 10.240.0.77",
		"--", "set", "Logical_Switch_Port", elsewhere,
		"external_ids:quantumnet\\:network=e2e-watch", "external_ids:quantumnet\\:kind=container",
		"external_ids:quantumnet\\:chassis=another-host", "external_ids:quantumnet\\:container-id=c-elsewhere",
		"external_ids:quantumnet\\:ifname=eth0")
	t.Cleanup(func() { sbx.Tool(t, "ovn-nbctl", "--if-exists", "lsp-del", elsewhere) })
	d.MustStart()
	w.note("reconnected")
	got := w.snapshot()
	if p := got[elsewhere]; len(got) != 1 || p == nil || len(p.Addresses) != 1 || p.Addresses[0] != "10.240.0.77" {
		t.Fatalf("fresh snapshot after the restart: %v, want only %s", got, elsewhere)
	}
	// An open stream does not hold the daemon's stop (SIGTERM).
	d.Stop()
	if !d.ExitedCleanly() {
		t.Fatalf("quantumnetd did not exit cleanly on SIGTERM with a stream open:\n%s", harness.TailFile(d.LogPath, 20))
	}
	w.note("lost")
	d.MustStart() // for the cleanups
}
