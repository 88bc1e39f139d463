package console_test

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quantumnet/quantumnet/daemon/console"
	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// stream is an open /console/api/events.
type stream struct {
	t      *testing.T
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

func (e *env) stream() *stream {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/console/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		e.t.Fatalf("events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &stream{t: e.t, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	e.t.Cleanup(st.close)
	return st
}

func (s *stream) close() { s.cancel(); s.resp.Body.Close() }

// next is the next event (comments and retry skipped); nil at the end of
// the stream.
func (s *stream) next() *api.Event {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return nil
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
		if !ok {
			continue
		}
		ev := &api.Event{}
		if err := protojson.Unmarshal([]byte(data), ev); err != nil {
			s.t.Fatalf("event %q: %v", data, err)
		}
		if !strings.Contains(data, `"time_unix_nano"`) {
			s.t.Errorf("event not in snake_case protojson: %s", data)
		}
		return ev
	}
}

// synced reads up to "synced" and returns the snapshot's kind/names.
func (s *stream) synced() []string {
	s.t.Helper()
	var got []string
	for {
		ev := s.next()
		switch {
		case ev == nil:
			s.t.Fatalf("stream ended before synced (after %v)", got)
		case ev.Type == events.TypeSynced:
			return got
		case ev.Type != events.TypeSnapshot:
			s.t.Fatalf("%s before synced", ev.Type)
		}
		got = append(got, ev.Kind+"/"+ev.Name)
	}
}

// TestIntegrationConsoleEvents: the stream gives the snapshot, synced,
// then a new port as created (with its object); closed streams leave no
// subscription and no goroutine; the daemon's stop and the hub's closing
// end open streams.
func TestIntegrationConsoleEvents(t *testing.T) {
	e := newEnv(t, "")
	e.s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	e.s.Port("p1", "blue", "chassis-1")
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return e.hub.Get(events.KindPort, "p1") != nil }, "p1 in the hub")

	st := e.stream()
	if got := strings.Join(st.synced(), " "); got != "network/blue port/p1" {
		t.Fatalf("snapshot %q, want network/blue port/p1", got)
	}
	e.s.Port("p2", "blue", "chassis-1")
	for {
		ev := st.next()
		if ev == nil {
			t.Fatal("stream ended before p2")
		}
		if ev.Kind == events.KindPort && ev.Name == "p2" {
			if ev.Type != events.TypeCreated || ev.Port.GetNetwork() != "blue" {
				t.Errorf("p2: %v", ev)
			}
			break
		}
	}

	// Streams opened and closed: no subscription, no goroutine left.
	baseline, subs := runtime.NumGoroutine(), e.hub.Subscribers()
	var opened []*stream
	for range 10 {
		s := e.stream()
		s.synced()
		opened = append(opened, s)
	}
	if got := e.hub.Subscribers(); got != subs+10 {
		t.Fatalf("%d subscribers, want %d", got, subs+10)
	}
	for _, s := range opened {
		s.close()
	}
	http.DefaultClient.CloseIdleConnections()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return e.hub.Subscribers() == subs && runtime.NumGoroutine() <= baseline
	}, "after closing 10 streams: %d subscribers (want %d), %d goroutines (baseline %d)", e.hub.Subscribers(), subs,
		runtime.NumGoroutine(), baseline)

	// The daemon stops: the open stream ends, its subscription is closed.
	e.stopCon()
	for st.next() != nil {
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return e.hub.Subscribers() == 0 }, "subscribers after the stop")
}

// TestIntegrationConsoleEventsHubCloses: the hub's closing (the feed
// stops) ends the stream.
// A quiet stream carries keep-alive comments.
func TestIntegrationConsoleEventsHubCloses(t *testing.T) {
	e := newEnv(t, "")
	defer func(d time.Duration) { console.KeepAlive = d }(console.KeepAlive)
	console.KeepAlive = 10 * time.Millisecond
	st := e.stream()
	st.synced()
	for {
		line, err := st.r.ReadString('\n')
		if err != nil {
			t.Fatalf("no keep-alive: %v", err)
		}
		if line == ": keep-alive\n" {
			break
		}
	}
	e.stopFeed()
	for st.next() != nil {
	}
	if n := e.hub.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after the hub closed", n)
	}
}
