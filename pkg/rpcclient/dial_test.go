package rpcclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func TestDialHello(t *testing.T) {
	path := apitest.SocketPath(t)
	d := apitest.NewDaemon()
	apitest.Serve(t, path, d)

	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	if c.Hello == nil || c.Hello.ApiVersion != api.APIVersion || c.Hello.MinApiVersion != api.MinAPIVersion ||
		c.Hello.DaemonVersion != "test-1.2.3" || c.Hello.Chassis != "chassis-test" {
		t.Fatalf("Client.Hello = %v, want the daemon's reply (API %d/%d, test-1.2.3, chassis-test)", c.Hello, api.APIVersion, api.MinAPIVersion)
	}
	if clients := d.Clients(); len(clients) != 1 || clients[0] != "qnetctl" {
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
	c2, err := rpcclient.Dial(ctx, "", "cni")
	if err != nil {
		t.Fatalf("Dial with %s=%s: %v", api.SocketEnv, path, err)
	}
	c2.Close()
}

func TestDialUnreachable(t *testing.T) {
	t.Run("missing socket", func(t *testing.T) {
		path := apitest.SocketPath(t)
		start := time.Now()
		_, err := rpcclient.Dial(context.Background(), path, "cni")
		if !errors.Is(err, rpcclient.ErrUnreachable) {
			t.Fatalf("Dial to a missing socket = %v, want ErrUnreachable", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Dial to a missing socket took %v, want it quick", d)
		}
	})
	t.Run("dead socket", func(t *testing.T) {
		// A socket file nobody listens on: the daemon crashed.
		path := apitest.StaleSocket(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := rpcclient.Dial(ctx, path, "cni")
		if !errors.Is(err, rpcclient.ErrUnreachable) {
			t.Fatalf("Dial to a dead socket = %v, want ErrUnreachable", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Dial to a dead socket took %v, want it quick", d)
		}
	})
	t.Run("stopped server", func(t *testing.T) {
		path := apitest.SocketPath(t)
		apitest.ServeAndStop(t, path)
		if _, err := rpcclient.Dial(context.Background(), path, "cni"); !errors.Is(err, rpcclient.ErrUnreachable) {
			t.Fatalf("Dial after Stop = %v, want ErrUnreachable", err)
		}
	})
	// Unreachable is a kind of unavailable: every protocol's table says "later".
	if !errors.Is(rpcclient.ErrUnreachable, errs.Unavailable) {
		t.Fatal("ErrUnreachable is not of kind errs.Unavailable")
	}
}

func TestDialAPIVersion(t *testing.T) {
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
			path := apitest.SocketPath(t)
			d := apitest.NewDaemon()
			d.Version, d.MinVersion = tc.version, tc.minVersion
			s := apitest.Serve(t, path, d)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := rpcclient.Dial(ctx, path, "cni")
			if tc.ok {
				if err != nil {
					t.Fatalf("Dial to a daemon speaking %d (oldest %d) = %v, want success", tc.version, tc.minVersion, err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, rpcclient.ErrIncompatible) || errors.Is(err, rpcclient.ErrUnreachable) || c != nil {
				t.Fatalf("Dial to a daemon speaking %d (oldest %d) = %v, %v; want nil, ErrIncompatible", tc.version, tc.minVersion, c, err)
			}
			s.AssertRunning(t) // a refused client does not stop it either
		})
	}
}
