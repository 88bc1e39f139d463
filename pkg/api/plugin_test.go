package api_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// daemon is a minimal QuantumNet service: Hello and Status.
type daemon struct {
	api.UnimplementedQuantumNetServer
	version, minVersion uint32

	mu      sync.Mutex
	clients []string // HelloRequest.Client of every Hello
}

func newDaemon() *daemon { return &daemon{version: api.APIVersion, minVersion: api.MinAPIVersion} }

func (d *daemon) Hello(_ context.Context, r *api.HelloRequest) (*api.HelloReply, error) {
	d.mu.Lock()
	d.clients = append(d.clients, r.Client)
	d.mu.Unlock()
	return &api.HelloReply{ApiVersion: d.version, MinApiVersion: d.minVersion, DaemonVersion: "test-1.2.3", Chassis: "chassis-test"}, nil
}

func (d *daemon) Status(context.Context, *api.StatusRequest) (*api.StatusReply, error) {
	return &api.StatusReply{Ready: true, Chassis: "chassis-test", DatapathType: "netdev"}, nil
}

// socketPath returns a socket path in a not yet existing directory, short
// enough for a unix socket whatever $TMPDIR is.
func socketPath(t *testing.T) string {
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

// served is a Server running Serve in the background.
type served struct {
	*api.Server
	done chan error // receives Serve's result
}

func serve(t *testing.T, path string, impl api.QuantumNetServer) *served {
	t.Helper()
	srv, err := api.Listen(path, impl)
	if err != nil {
		t.Fatalf("Listen(%s): %v", path, err)
	}
	s := &served{Server: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Stop()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Stop")
		}
	})
	return s
}

// assertServing checks that Serve is still running and that a fresh
// client can dial, handshake and call Status.
func (s *served) assertServing(t *testing.T, path string) {
	t.Helper()
	s.assertRunning(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := api.Dial(ctx, path, "probe")
	if err != nil {
		t.Fatalf("a fresh Dial failed: %v", err)
	}
	defer c.Close()
	st, err := c.Status(ctx, &api.StatusRequest{})
	if err != nil || !st.Ready {
		t.Fatalf("Status on a fresh client = %v, %v; want Ready", st, err)
	}
}

// assertRunning checks that Serve has not returned.
func (s *served) assertRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.done:
		t.Fatalf("Serve returned (%v): the server stopped", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func dial(t *testing.T, path, name string) *api.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := api.Dial(ctx, path, name)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

func currentUmask() int {
	m := syscall.Umask(0o22)
	syscall.Umask(m)
	return m
}

func TestPluginListenPermissions(t *testing.T) {
	for _, existing := range []bool{false, true} {
		name := "new directory"
		if existing {
			name = "existing 0755 directory"
		}
		t.Run(name, func(t *testing.T) {
			path := socketPath(t)
			dir := filepath.Dir(path)
			if existing {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			umask := currentUmask()
			serve(t, path, newDaemon())

			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("socket mode = %v, want a socket with 0600", fi.Mode())
			}
			di, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if di.Mode().Perm() != 0o700 {
				t.Fatalf("socket directory mode = %v, want 0700", di.Mode().Perm())
			}
			if got := currentUmask(); got != umask {
				t.Fatalf("Listen left the process umask at %#o, was %#o", got, umask)
			}
		})
	}
}

func TestPluginDialHello(t *testing.T) {
	path := socketPath(t)
	d := newDaemon()
	serve(t, path, d)

	c := dial(t, path, "qnetctl")
	defer c.Close()
	if c.Hello == nil || c.Hello.ApiVersion != api.APIVersion || c.Hello.MinApiVersion != api.MinAPIVersion ||
		c.Hello.DaemonVersion != "test-1.2.3" || c.Hello.Chassis != "chassis-test" {
		t.Fatalf("Client.Hello = %v, want the daemon's reply (API %d/%d, test-1.2.3, chassis-test)", c.Hello, api.APIVersion, api.MinAPIVersion)
	}
	d.mu.Lock()
	clients := append([]string(nil), d.clients...)
	d.mu.Unlock()
	if len(clients) != 1 || clients[0] != "qnetctl" {
		t.Fatalf("the daemon saw Hello from %v, want [qnetctl]", clients)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx, &api.StatusRequest{})
	if err != nil || !st.Ready || st.Chassis != "chassis-test" || st.DatapathType != "netdev" {
		t.Fatalf("Status = %v, %v; want the daemon's reply", st, err)
	}

	// $QUANTUMNET_SOCKET is where an empty socket argument leads.
	t.Setenv(api.SocketEnv, path)
	c2, err := api.Dial(ctx, "", "cni")
	if err != nil {
		t.Fatalf("Dial with %s=%s: %v", api.SocketEnv, path, err)
	}
	c2.Close()
}

// The daemon must not be stoppable by a client: neither by our Close, nor
// by go-plugin's Kill or Close (which send the controller's Shutdown), nor
// by a raw Shutdown RPC from a misbehaving client.
func TestPluginClientCannotStopServer(t *testing.T) {
	path := socketPath(t)
	s := serve(t, path, newDaemon())

	t.Run("Close", func(t *testing.T) {
		c := dial(t, path, "cni")
		c.Close()
		c.Close() // twice is harmless
		s.assertServing(t, path)
	})
	t.Run("Plugin().Kill", func(t *testing.T) {
		c := dial(t, path, "cni")
		c.Plugin().Kill()
		s.assertServing(t, path)
		c.Close()
		s.assertServing(t, path)
	})
	t.Run("go-plugin Close", func(t *testing.T) {
		c := dial(t, path, "cni")
		rpc, err := c.Plugin().Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := rpc.Close(); err != nil { // sends GRPCController.Shutdown
			t.Fatalf("go-plugin's ClientProtocol.Close: %v", err)
		}
		s.assertServing(t, path)
		c.Close()
	})
	t.Run("raw Shutdown", func(t *testing.T) {
		conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for range 3 {
			// go-plugin's GRPCController: the server answers it and does nothing.
			if err := conn.Invoke(ctx, "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
				t.Fatalf("Shutdown RPC = %v, want an answer", err)
			}
		}
		s.assertServing(t, path)
	})
}

// Clients come and go (every CNI call is one): nothing may pile up.
func TestPluginNoLeakPerClient(t *testing.T) {
	path := socketPath(t)
	s := serve(t, path, newDaemon())
	s.assertServing(t, path) // warm up grpc's own goroutines
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 30 {
		dial(t, path, "cni").Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after 30 Dial+Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestPluginDialUnreachable(t *testing.T) {
	t.Run("missing socket", func(t *testing.T) {
		path := socketPath(t)
		start := time.Now()
		_, err := api.Dial(context.Background(), path, "cni")
		if !errors.Is(err, api.ErrUnreachable) {
			t.Fatalf("Dial to a missing socket = %v, want ErrUnreachable", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Dial to a missing socket took %v, want it quick", d)
		}
	})
	t.Run("dead socket", func(t *testing.T) {
		// A socket file nobody listens on: the daemon crashed.
		path := staleSocket(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := api.Dial(ctx, path, "cni")
		if !errors.Is(err, api.ErrUnreachable) {
			t.Fatalf("Dial to a dead socket = %v, want ErrUnreachable", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Dial to a dead socket took %v, want it quick", d)
		}
	})
	t.Run("stopped server", func(t *testing.T) {
		path := socketPath(t)
		srv, err := api.Listen(path, newDaemon())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve() }()
		dial(t, path, "cni").Close()
		srv.Stop()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve after Stop = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after Stop")
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("socket after Stop: %v, want it removed", err)
		}
		if _, err := api.Dial(context.Background(), path, "cni"); !errors.Is(err, api.ErrUnreachable) {
			t.Fatalf("Dial after Stop = %v, want ErrUnreachable", err)
		}
	})
}

// staleSocket leaves a socket file without a listener, as a killed daemon does.
func staleSocket(t *testing.T) string {
	t.Helper()
	path := socketPath(t)
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

func TestPluginListenTwice(t *testing.T) {
	path := socketPath(t)
	s := serve(t, path, newDaemon())
	_, err := api.Listen(path, newDaemon())
	if err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Fatalf("second Listen on a live socket = %v, want an \"already serving\" error", err)
	}
	// The first daemon is unharmed, its socket still in place.
	s.assertServing(t, path)
}

func TestPluginListenStaleSocket(t *testing.T) {
	path := staleSocket(t)
	s := serve(t, path, newDaemon())
	s.assertServing(t, path)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced socket: %v, %v; want mode 0600", fi, err)
	}
}

func TestPluginAPIVersion(t *testing.T) {
	for _, tc := range []struct {
		name                string
		version, minVersion uint32
		ok                  bool
	}{
		{"same", api.APIVersion, api.MinAPIVersion, true},
		{"newer daemon still serving ours", api.APIVersion + 1, api.APIVersion, true},
		{"daemon too new", 99, 99, false},
		{"daemon too old", api.APIVersion - 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := socketPath(t)
			d := newDaemon()
			d.version, d.minVersion = tc.version, tc.minVersion
			s := serve(t, path, d)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := api.Dial(ctx, path, "cni")
			if tc.ok {
				if err != nil {
					t.Fatalf("Dial to a daemon speaking %d (oldest %d) = %v, want success", tc.version, tc.minVersion, err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, api.ErrIncompatible) || errors.Is(err, api.ErrUnreachable) || c != nil {
				t.Fatalf("Dial to a daemon speaking %d (oldest %d) = %v, %v; want nil, ErrIncompatible", tc.version, tc.minVersion, c, err)
			}
			s.assertRunning(t) // a refused client does not stop it either
		})
	}
}
