// Package apitest is what the tests of both halves of the API share: a
// minimal daemon (Hello and Status), a socket path, a server running in the
// background, and probes that it still serves. Tests only.
package apitest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apiserver"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// Daemon is a minimal QuantumNet service: Hello and Status.
type Daemon struct {
	api.UnimplementedQuantumNetServer
	// Version and MinVersion are what Hello answers.
	Version, MinVersion uint32

	mu      sync.Mutex
	clients []string // HelloRequest.Client of every Hello
}

// NewDaemon returns a Daemon speaking this API version.
func NewDaemon() *Daemon { return &Daemon{Version: api.APIVersion, MinVersion: api.MinAPIVersion} }

// Hello answers with the daemon's versions, "test-1.2.3" and "chassis-test".
func (d *Daemon) Hello(_ context.Context, r *api.HelloRequest) (*api.HelloReply, error) {
	d.mu.Lock()
	d.clients = append(d.clients, r.Client)
	d.mu.Unlock()
	return &api.HelloReply{ApiVersion: d.Version, MinApiVersion: d.MinVersion, DaemonVersion: "test-1.2.3", Chassis: "chassis-test"}, nil
}

// Status answers ready on "chassis-test", datapath "netdev".
func (d *Daemon) Status(context.Context, *api.StatusRequest) (*api.StatusReply, error) {
	return &api.StatusReply{Ready: true, Chassis: "chassis-test", DatapathType: "netdev"}, nil
}

// Clients is the client name of every Hello so far.
func (d *Daemon) Clients() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.clients...)
}

// SocketPath returns a socket path in a not yet existing directory, short
// enough for a unix socket whatever $TMPDIR is.
func SocketPath(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "qnapi")
	if err != nil || len(base) > 80 {
		base, err = os.MkdirTemp("/tmp", "qnapi")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return filepath.Join(base, "run", "quantumnetd.sock")
}

// StaleSocket leaves a socket file without a listener, as a killed daemon does.
func StaleSocket(t *testing.T) string {
	t.Helper()
	path := SocketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Net: "unix", Name: path})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	return path
}

// Served is a Server running Serve in the background.
type Served struct {
	*apiserver.Server
	// Done receives Serve's result.
	Done chan error
}

// Serve listens on path and serves impl until the test ends.
func Serve(t *testing.T, path string, impl api.QuantumNetServer) *Served {
	t.Helper()
	srv, err := apiserver.Listen(path, impl)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	s := &Served{Server: srv, Done: make(chan error, 1)}
	go func() { s.Done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Stop()
		select {
		case <-s.Done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Stop")
		}
	})
	return s
}

// AssertServing checks that Serve is still running and that a fresh
// client can dial, handshake and call Status.
func (s *Served) AssertServing(t *testing.T, path string) {
	t.Helper()
	s.AssertRunning(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpcclient.Dial(ctx, path, "probe")
	if err != nil {
		t.Fatalf("a fresh Dial failed: %v", err)
	}
	defer c.Close()
	st, err := c.Status(ctx, &api.StatusRequest{})
	if err != nil || !st.Ready {
		t.Fatalf("Status on a fresh client = %v, %v; want Ready", st, err)
	}
}

// AssertRunning checks that Serve has not returned.
func (s *Served) AssertRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.Done:
		t.Fatalf("Serve returned (%v): the server stopped", err)
	case <-time.After(100 * time.Millisecond):
	}
}

// Dial dials path as client name, failing the test if it cannot.
func Dial(t *testing.T, path, name string) *rpcclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpcclient.Dial(ctx, path, name)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

// ServeAndStop listens on path, serves one client's Dial and Close, stops
// the server and returns what Serve returned (the test fails if Serve does
// not return within 5 s of Stop).
func ServeAndStop(t *testing.T, path string) error {
	t.Helper()
	srv, err := apiserver.Listen(path, NewDaemon())
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	Dial(t, path, "cni").Close()
	srv.Stop()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Stop")
		return nil
	}
}
