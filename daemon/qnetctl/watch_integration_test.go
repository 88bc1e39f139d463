package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/attach"
	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apiserver"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveDaemon serves the daemon's API with a hub fed from s on path
// until stop.
func serveDaemon(t *testing.T, s *stacktest.Stack, path string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.Ctx)
	hub := events.New(0)
	fed := make(chan struct{})
	go func() {
		(&events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Interval: time.Hour, Log: ovsdbtest.Logger(t)}).Run(ctx)
		close(fed)
	}()
	srv := &server.Server{Attach: &attach.Manager{NB: s.NB, SB: s.SB, Log: ovsdbtest.Logger(t)}, Events: hub, Log: ovsdbtest.Logger(t)}
	ls, err := apiserver.Listen(path, srv)
	if err != nil {
		t.Fatal(err)
	}
	go ls.Serve()
	return func() { cancel(); <-fed; ls.Stop() }
}

// TestIntegrationWatchRun: qnetctl's watch prints the snapshot and the
// changes; the daemon gone and back, it says so on stderr and prints a
// fresh snapshot with what was made meanwhile; it ends with its context.
func TestIntegrationWatchRun(t *testing.T) {
	s := stacktest.New(t, true)
	s.Wire(nil, nil)
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Port("p1", "blue", "")
	path := apitest.SocketPath(t)
	stop := serveDaemon(t, s, path)
	dial := func(ctx context.Context) (api.QuantumNetClient, func(), error) {
		c, err := rpcclient.Dial(ctx, path, "qnetctl")
		if err != nil {
			return nil, nil, err
		}
		return c.QuantumNetClient, c.Close, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() { done <- watchRun(ctx, dial, []string{"port"}, "blue", "table", &out, &errOut) }()
	wait := func(b *lockedBuffer, what string) {
		t.Helper()
		ovsdbtest.Eventually(t, 20*time.Second, func() bool { return strings.Contains(b.String(), what) }, "%q never printed", what)
	}
	wait(&out, "synced")
	s.Port("p2", "blue", "")
	wait(&out, "created  port          p2")

	stop()
	wait(&errOut, "lost the daemon")
	s.Port("p3", "blue", "")
	mark := len(out.String())
	defer serveDaemon(t, s, path)()
	wait(&errOut, "qnetctl: reconnected (fresh snapshot)\n")
	ovsdbtest.Eventually(t, 20*time.Second, func() bool { return strings.Contains(out.String()[mark:], "synced") }, "no fresh snapshot")
	after := out.String()[mark:]
	for _, p := range []string{"p1", "p2", "p3"} {
		if !strings.Contains(after, "snapshot port          "+p) {
			t.Errorf("the fresh snapshot lacks %s:\n%s", p, after)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watchRun ended with %v", err)
	}
	if err := watchRun(context.Background(), dial, nil, "", "xml", &out, &errOut); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("-o xml: %v", err)
	}
}
