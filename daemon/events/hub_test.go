package events_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/pkg/api"
)

func port(name, network string, up bool) *events.Object {
	return &events.Object{Kind: events.KindPort, Name: name, Networks: []string{network},
		Msg: &api.Port{Name: name, Network: network, Up: up}}
}

// drain is what a subscription has queued, as "type kind/name [changed]".
func drain(t *testing.T, s *events.Subscription, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ev, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s/%s %v", ev.Type, ev.Kind, ev.Name, ev.Changed))
	}
	return out
}

// TestHubFilterAndOverflow: an object moving into a filtered network is
// created for that subscriber and deleted when it leaves; an unchanged
// Set publishes nothing; an overflowing queue becomes resync + snapshot.
func TestHubFilterAndOverflow(t *testing.T) {
	h := events.New(3)
	h.Set(port("a", "blue", false))
	h.Synced()
	red := h.Subscribe(events.Filter{Network: "red"})
	all := h.Subscribe(events.Filter{})
	if got := drain(t, red, 1); !slices.Equal(got, []string{"synced / []"}) {
		t.Fatalf("red snapshot %v", got)
	}
	if got := drain(t, all, 2); !slices.Equal(got, []string{"snapshot port/a []", "synced / []"}) {
		t.Fatalf("snapshot %v", got)
	}
	h.Set(port("a", "blue", false)) // no change: no event
	h.Set(port("a", "red", false))
	h.Set(port("a", "red", true))
	h.Set(port("a", "blue", true))
	if got, want := drain(t, red, 3), []string{"created port/a []", "updated port/a [up]", "deleted port/a []"}; !slices.Equal(got, want) {
		t.Fatalf("red: %v, want %v", got, want)
	}
	if got, want := drain(t, all, 3), []string{"updated port/a [network]", "updated port/a [up]", "updated port/a [network]"}; !slices.Equal(got, want) {
		t.Fatalf("all: %v, want %v", got, want)
	}
	// Four changes into a queue of three: resync, then the snapshot.
	for i := range 4 {
		h.Set(port("a", "blue", i%2 == 0))
	}
	h.Delete(events.KindPort, "a")
	h.Set(port("b", "blue", false))
	if got, want := drain(t, all, 3), []string{"resync / []", "snapshot port/b []", "synced / []"}; !slices.Equal(got, want) {
		t.Fatalf("after overflow: %v, want %v", got, want)
	}
	red.Close()
	all.Close()
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after Close", n)
	}
	h.Close()
	if _, err := h.Subscribe(events.Filter{}).Next(context.Background()); err != events.ErrClosed {
		t.Fatalf("Next on a closed hub: %v", err)
	}
}
