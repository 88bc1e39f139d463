package events_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// stack is a Northbound and Southbound with networks blue and red.
func stack(t testing.TB) *stacktest.Stack {
	t.Helper()
	s := stacktest.New(t, true)
	s.Wire(nil, nil)
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Network(network.Input{Name: "red", Subnet4: "10.2.0.0/24"})
	return s
}

// feed starts a feed on s into a hub of buffer events per subscriber:
// its snapshot has what s has now.
func feed(s *stacktest.Stack, buffer int) *events.Hub {
	hub := events.New(buffer)
	f := &events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Interval: time.Hour, Log: ovsdbtest.Logger(s.T)}
	go f.Run(s.Ctx)
	return hub
}

// reader reads a subscription, checking that seq counts up by one.
type reader struct {
	t   *testing.T
	sub *events.Subscription
	seq uint64
}

func (r *reader) next() *api.Event {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, err := r.sub.Next(ctx)
	if err != nil {
		r.t.Fatalf("Next after seq %d: %v", r.seq, err)
	}
	if ev.Seq != r.seq+1 {
		r.t.Fatalf("seq %d after %d", ev.Seq, r.seq)
	}
	r.seq = ev.Seq
	return ev
}

// snapshot reads a snapshot up to synced: "kind/name" of each object.
func (r *reader) snapshot() []string {
	r.t.Helper()
	var got []string
	for {
		ev := r.next()
		switch ev.Type {
		case events.TypeSynced:
			return got
		case events.TypeSnapshot:
			got = append(got, ev.Kind+"/"+ev.Name)
		default:
			r.t.Fatalf("%s event %s/%s inside a snapshot", ev.Type, ev.Kind, ev.Name)
		}
	}
}

// until reads events up to (and including) the first that done accepts.
func (r *reader) until(done func(*api.Event) bool) []*api.Event {
	r.t.Helper()
	var got []*api.Event
	for {
		ev := r.next()
		got = append(got, ev)
		if done(ev) {
			return got
		}
	}
}

func portEvent(typ, name string) func(*api.Event) bool {
	return func(ev *api.Event) bool { return ev.Type == typ && ev.Kind == events.KindPort && ev.Name == name }
}

// ofPort are the events of one port, as "type changed...".
func ofPort(evs []*api.Event, name string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == events.KindPort && ev.Name == name {
			out = append(out, fmt.Sprintf("%s %v", ev.Type, ev.Changed))
		}
	}
	return out
}

// TestIntegrationStream: a snapshot of what exists, then every change of
// a port's row and binding as an event naming what changed, in order.
func TestIntegrationStream(t *testing.T) {
	s := stack(t)
	s.Northd() // Port_Binding rows, and up from Southbound to Northbound
	s.Chassis("ch1", "192.0.2.1", "")
	s.Chassis("ch2", "192.0.2.2", "")
	s.Port("p1", "blue", "")
	hub := feed(s, 0)
	r := &reader{t: t, sub: hub.Subscribe(events.Filter{})}
	defer r.sub.Close()
	snap := r.snapshot()
	if want := []string{"network/blue", "network/red", "port/p1"}; !slices.Equal(snap, want) {
		t.Fatalf("snapshot %v, want %v", snap, want)
	}

	s.Port("p2", "blue", "")
	// The port, and its network's count of ports (one transaction: either first).
	var created, counted *api.Event
	r.until(func(ev *api.Event) bool {
		switch {
		case ev.Kind == events.KindPort && ev.Name == "p2":
			created = ev
		case ev.Kind == events.KindNetwork && ev.Name == "blue":
			counted = ev
		}
		return created != nil && counted != nil
	})
	if p := created.Port; created.Type != events.TypeCreated || p.Network != "blue" || len(p.Addresses) != 1 || p.Up {
		t.Fatalf("p2: %s %v", created.Type, p)
	}
	if ev := counted; ev.Type != events.TypeUpdated || !slices.Equal(ev.Changed, []string{"ports"}) || ev.Network.Ports < 2 {
		t.Fatalf("network blue: %s %v %v", ev.Type, ev.Changed, ev.Network)
	}

	s.NBCtl("set", "Logical_Switch_Port", "p2", `external_ids:"quantumnet:dns-name"=web`,
		`external_ids:"quantumnet:security-groups"=web,ssh`)
	evs := r.until(portEvent(events.TypeUpdated, "p2"))
	if got := ofPort(evs, "p2"); !slices.Equal(got, []string{"updated [security_groups dns_name]"}) {
		t.Fatalf("p2 events %v", got)
	}

	// Bound on ch1, then up (northd copies up from Southbound).
	s.SBCtl("lsp-bind", "p2", "ch1")
	s.SBCtl("set", "Port_Binding", "p2", "up=true")
	evs = r.until(func(ev *api.Event) bool {
		return ev.Kind == events.KindPort && ev.Name == "p2" && ev.Port.Up && ev.Port.BoundChassis == "ch1"
	})
	var changed []string
	for _, ev := range evs {
		if ev.Kind == events.KindPort && ev.Name == "p2" {
			changed = append(changed, ev.Changed...)
		}
	}
	if !slices.Contains(changed, "bound_chassis") || !slices.Contains(changed, "up") {
		t.Fatalf("binding p2 changed %v, want bound_chassis and up", changed)
	}

	// Migrating: both chassis requested.
	s.NBCtl("set", "Logical_Switch_Port", "p2", `options:requested-chassis="ch1,ch2"`,
		`external_ids:"quantumnet:migration-from"=ch1`, `external_ids:"quantumnet:migration-to"=ch2`)
	evs = r.until(portEvent(events.TypeUpdated, "p2"))
	ev := evs[len(evs)-1]
	if !slices.Equal(ev.Changed, []string{"chassis", "migration"}) || ev.Port.Migration != "ch1 -> ch2" || ev.Port.Chassis != "ch1,ch2" {
		t.Fatalf("migration of p2: changed %v, port %v", ev.Changed, ev.Port)
	}

	s.NBCtl("lsp-del", "p2")
	// Northd drops the binding too: that may reach us first (unbound).
	evs = r.until(portEvent(events.TypeDeleted, "p2"))
	for _, ev := range evs[:len(evs)-1] {
		if ev.Name == "p2" && (ev.Type != events.TypeUpdated || !slices.Equal(ev.Changed, []string{"bound_chassis"})) {
			t.Fatalf("before p2's deletion: %s %v", ev.Type, ev.Changed)
		}
	}
	if p := evs[len(evs)-1].Port; p == nil || p.Migration != "ch1 -> ch2" {
		t.Fatalf("deleted p2 carries %v, want it as it was", p)
	}
	if hub.Get(events.KindPort, "p2") != nil {
		t.Fatal("the hub still holds p2")
	}
}

// TestIntegrationStalledSubscriber: a subscriber that stops reading is
// told to resync (with a fresh snapshot) once its queue overflows, while
// another one receives every event in order and the hub keeps up.
func TestIntegrationStalledSubscriber(t *testing.T) {
	s := stack(t)
	hub := feed(s, 4)
	stalled := &reader{t: t, sub: hub.Subscribe(events.Filter{Kinds: []string{events.KindPort}})}
	defer stalled.sub.Close()
	live := &reader{t: t, sub: hub.Subscribe(events.Filter{Kinds: []string{events.KindPort}})}
	defer live.sub.Close()
	if got := stalled.snapshot(); len(got) != 0 {
		t.Fatalf("snapshot %v, want none", got)
	}
	live.snapshot()
	const n = 12
	var want []string
	for i := range n {
		name := fmt.Sprintf("q%02d", i)
		s.Port(name, "blue", "")
		want = append(want, "created "+name)
		// The live subscriber reads as they come.
		evs := live.until(portEvent(events.TypeCreated, name))
		for _, ev := range evs {
			if ev.Type != events.TypeCreated {
				t.Fatalf("live subscriber got %s %s", ev.Type, ev.Name)
			}
		}
	}
	if hub.Get(events.KindPort, fmt.Sprintf("q%02d", n-1)) == nil {
		t.Fatal("the hub did not keep up")
	}
	// The stalled one: what fit, then resync and a snapshot of all n.
	var before []string
	for {
		ev := stalled.next()
		if ev.Type == events.TypeResync {
			break
		}
		before = append(before, ev.Type+" "+ev.Name)
	}
	if len(before) > 4 || !slices.Equal(before, want[:len(before)]) {
		t.Fatalf("before the resync: %v", before)
	}
	if got := stalled.snapshot(); len(got) != n {
		t.Fatalf("snapshot after resync has %d ports, want %d: %v", len(got), n, got)
	}
	s.NBCtl("lsp-del", "q00")
	stalled.until(portEvent(events.TypeDeleted, "q00"))
	live.until(portEvent(events.TypeDeleted, "q00"))
}

// TestIntegrationFilterNetwork: a subscriber of one network sees its
// objects only, in the snapshot and after.
func TestIntegrationFilterNetwork(t *testing.T) {
	s := stack(t)
	s.Port("b1", "blue", "")
	s.Port("r1", "red", "")
	hub := feed(s, 0)
	r := &reader{t: t, sub: hub.Subscribe(events.Filter{Network: "red"})}
	defer r.sub.Close()
	if got, want := r.snapshot(), []string{"network/red", "port/r1"}; !slices.Equal(got, want) {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	s.Port("b2", "blue", "")
	s.Port("r2", "red", "")
	evs := r.until(portEvent(events.TypeCreated, "r2"))
	for _, ev := range evs {
		if ev.Kind == events.KindPort && ev.Port.Network != "red" || ev.Kind == events.KindNetwork && ev.Name != "red" {
			t.Fatalf("filtered on red, got %s %s/%s", ev.Type, ev.Kind, ev.Name)
		}
	}
}

// TestIntegrationNorthboundAway: a port deleted while Northbound was away
// (libovsdb refills its cache without deletion events) is deleted on the
// stream once it is back, and one created meanwhile is created.
func TestIntegrationNorthboundAway(t *testing.T) {
	s := stack(t)
	gone := s.Port("gone", "blue", "")
	s.Port("stays", "blue", "")
	hub := feed(s, 0)
	r := &reader{t: t, sub: hub.Subscribe(events.Filter{Kinds: []string{events.KindPort}})}
	defer r.sub.Close()
	if got := r.snapshot(); !slices.Equal(got, []string{"port/gone", "port/stays"}) {
		t.Fatalf("snapshot %v", got)
	}
	s.NBSrv.Stop()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return !s.NB.Connected() }, "NB still connected")
	s.NBSrv.Run("ovsdb-tool", "transact", s.NBSrv.DB, `["OVN_Northbound",{"op":"mutate","table":"Logical_Switch",`+
		`"where":[["name","==","qn-blue"]],"mutations":[["ports","delete",["uuid","`+gone.UUID+`"]]]}]`)
	s.NBSrv.Start()
	evs := r.until(portEvent(events.TypeDeleted, "gone"))
	for _, ev := range evs {
		if ev.Name != "gone" {
			t.Fatalf("while looking for gone's deletion: %s %s %v", ev.Type, ev.Name, ev.Changed)
		}
	}
}
