package apiserver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/quantumnet/quantumnet/pkg/api/apiserver"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

func currentUmask() int {
	m := syscall.Umask(0o22)
	syscall.Umask(m)
	return m
}

func TestListenPermissions(t *testing.T) {
	for _, existing := range []bool{false, true} {
		name := "new directory"
		if existing {
			name = "existing 0755 directory"
		}
		t.Run(name, func(t *testing.T) {
			path := apitest.SocketPath(t)
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
			apitest.Serve(t, path, apitest.NewDaemon())

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
			// A directory Listen creates is its own (0700); an existing
			// one (socket = "/run/qn.sock") keeps its mode.
			want := os.FileMode(0o700)
			if existing {
				want = 0o755
			}
			if di.Mode().Perm() != want {
				t.Fatalf("socket directory mode = %v, want %v", di.Mode().Perm(), want)
			}
			if got := currentUmask(); got != umask {
				t.Fatalf("Listen left the process umask at %#o, was %#o", got, umask)
			}
		})
	}
}

// The daemon must not be stoppable by a client: neither by our Close, nor
// by go-plugin's Kill or Close (which send the controller's Shutdown), nor
// by a raw Shutdown RPC from a misbehaving client.
func TestClientCannotStopServer(t *testing.T) {
	path := apitest.SocketPath(t)
	s := apitest.Serve(t, path, apitest.NewDaemon())

	t.Run("Close", func(t *testing.T) {
		c := apitest.Dial(t, path, "cni")
		c.Close()
		c.Close() // twice is harmless
		s.AssertServing(t, path)
	})
	t.Run("Plugin().Kill", func(t *testing.T) {
		c := apitest.Dial(t, path, "cni")
		c.Plugin().Kill()
		s.AssertServing(t, path)
		c.Close()
		s.AssertServing(t, path)
	})
	t.Run("go-plugin Close", func(t *testing.T) {
		c := apitest.Dial(t, path, "cni")
		rpc, err := c.Plugin().Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := rpc.Close(); err != nil { // sends GRPCController.Shutdown
			t.Fatalf("go-plugin's ClientProtocol.Close: %v", err)
		}
		s.AssertServing(t, path)
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
		s.AssertServing(t, path)
	})
}

// Clients come and go (every CNI call is one): nothing may pile up.
func TestNoLeakPerClient(t *testing.T) {
	path := apitest.SocketPath(t)
	s := apitest.Serve(t, path, apitest.NewDaemon())
	s.AssertServing(t, path) // warm up grpc's own goroutines
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 30 {
		apitest.Dial(t, path, "cni").Close()
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

// Stop ends Serve (which then returns nil) and removes the socket.
func TestStop(t *testing.T) {
	path := apitest.SocketPath(t)
	if err := apitest.ServeAndStop(t, path); err != nil {
		t.Fatalf("Serve after Stop = %v, want nil", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket after Stop: %v, want it removed", err)
	}
}

func TestListenTwice(t *testing.T) {
	path := apitest.SocketPath(t)
	s := apitest.Serve(t, path, apitest.NewDaemon())
	_, err := apiserver.Listen(path, apitest.NewDaemon())
	if err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Fatalf("second Listen on a live socket = %v, want an \"already serving\" error", err)
	}
	// The first daemon is unharmed, its socket still in place.
	s.AssertServing(t, path)
}

func TestListenStaleSocket(t *testing.T) {
	path := apitest.StaleSocket(t)
	s := apitest.Serve(t, path, apitest.NewDaemon())
	s.AssertServing(t, path)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced socket: %v, %v; want mode 0600", fi, err)
	}
}

// Listen never deletes what is not a socket at the socket path (a
// misconfigured socket = "/etc/passwd" must not cost the file).
func TestListenRefusesNonSocket(t *testing.T) {
	for _, kind := range []string{"regular file", "directory", "symbolic link"} {
		t.Run(kind, func(t *testing.T) {
			path := apitest.SocketPath(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "regular file":
				err := os.WriteFile(path, []byte("precious"), 0o644)
				must(t, err)
			case "directory":
				must(t, os.Mkdir(path, 0o755))
			case "symbolic link":
				target := filepath.Join(t.TempDir(), "target")
				must(t, os.WriteFile(target, []byte("precious"), 0o644))
				must(t, os.Symlink(target, path))
			}
			_, err := apiserver.Listen(path, apitest.NewDaemon())
			if err == nil || !strings.Contains(err.Error(), "not a socket") {
				t.Fatalf("Listen over a %s = %v, want a \"not a socket\" refusal", kind, err)
			}
			if _, err := os.Lstat(path); err != nil {
				t.Fatalf("the %s at the socket path was removed: %v", kind, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
