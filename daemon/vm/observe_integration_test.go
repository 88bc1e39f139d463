package vm

import (
	"testing"
	"time"
)

// handoffs records what a Manager's Observer is told.
type handoffs struct{ done, failed int }

func (h *handoffs) Handoff(done bool, d time.Duration) {
	if done {
		h.done++
	} else {
		h.failed++
	}
}

func (h *handoffs) NetworkGap(time.Duration, time.Duration) {}

// TestIntegrationHandoffObserved: the destination reports each handoff it
// began once, rolled back or done (the guest runs here), and nothing for a
// handoff it did not begin.
func TestIntegrationHandoffObserved(t *testing.T) {
	ctx, _, _, a, b := startHandoff(t)
	var ha, hb handoffs
	a.Observer, b.Observer = &ha, &hb
	dom := Domain{Name: "mig2", UUID: "55555555-2222-3333-4444-555555555555", NICs: []NIC{{InterfaceID: "obs1", MAC: "52:54:00:00:00:41", Network: "blue"}}}
	if _, err := a.Prepare(ctx, dom); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.MigrateIn(ctx, dom))
	must(b.MigrationFailed(ctx, dom.UUID)) // the destination's release hook
	must(b.MigrateIn(ctx, dom))
	must(a.Released(ctx, dom))      // the source completes it in NB ...
	must(b.RunsHere(ctx, dom.UUID)) // ... and the guest resumes on b
	must(b.RunsHere(ctx, dom.UUID)) // a second event is not a second handoff
	if hb != (handoffs{done: 1, failed: 1}) || ha != (handoffs{}) {
		t.Errorf("observed on b %+v, on a %+v; want b {done:1 failed:1}, a nothing", hb, ha)
	}
}
