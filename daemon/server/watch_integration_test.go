package server_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/attach"
	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// synced reads a stream up to its "synced" event and returns the
// snapshot's "kind/name"s.
func synced(t *testing.T, st grpc.ServerStreamingClient[api.Event]) []string {
	t.Helper()
	var got []string
	for {
		ev, err := st.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if ev.Type == events.TypeSynced {
			return got
		}
		got = append(got, ev.Kind+"/"+ev.Name)
	}
}

// TestIntegrationWatchStreams: Watch and WatchPorts through the served
// API; closed streams free their subscription and goroutines, a bad
// request is refused naming the field, and the daemon's stop ends the
// streams (Unavailable) instead of waiting for them.
func TestIntegrationWatchStreams(t *testing.T) {
	s := stacktest.New(t, true)
	s.Wire(nil, nil)
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Port("p1", "blue", "")
	feedCtx, stopFeed := context.WithCancel(s.Ctx)
	defer stopFeed()
	hub := events.New(0)
	go (&events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Interval: time.Hour, Log: ovsdbtest.Logger(t)}).Run(feedCtx)
	srv := &server.Server{Attach: &attach.Manager{NB: s.NB, SB: s.SB, Log: ovsdbtest.Logger(t)}, Events: hub, Log: ovsdbtest.Logger(t)}
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, srv, grpc.ChainUnaryInterceptor(server.CheckLimits))
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	st, err := c.WatchPorts(ctx, &api.WatchRequest{Kinds: []string{"network"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := synced(t, st); len(got) != 1 || got[0] != "port/p1" {
		t.Fatalf("WatchPorts snapshot %v, want [port/p1]", got)
	}
	for _, bad := range []*api.WatchRequest{{Kinds: []string{"ports"}}, {Network: "Blue Net"}} {
		st, err := c.Watch(ctx, bad)
		if err == nil {
			_, err = st.Recv()
		}
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("Watch(%v): %v, want InvalidArgument", bad, err)
		}
	}

	// Streams opened and closed leave no subscription and no goroutine.
	baseline := runtime.NumGoroutine()
	const n = 20
	var cancels []context.CancelFunc
	for range n {
		sctx, scancel := context.WithCancel(ctx)
		cancels = append(cancels, scancel)
		st, err := c.Watch(sctx, &api.WatchRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := synced(t, st); len(got) != 2 {
			t.Fatalf("Watch snapshot %v, want network/blue and port/p1", got)
		}
	}
	if got := hub.Subscribers(); got != n+1 {
		t.Fatalf("%d subscribers, want %d", got, n+1)
	}
	for _, f := range cancels {
		f()
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return hub.Subscribers() == 1 && runtime.NumGoroutine() <= baseline
	}, "after closing %d streams: %d subscribers, %d goroutines (baseline %d)", n, hub.Subscribers(), runtime.NumGoroutine(), baseline)

	// The daemon stops: the open stream ends, Unavailable.
	stopFeed()
	for {
		_, err := st.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("after the hub closed: %v, want Unavailable", err)
			}
			break
		}
	}
}
