// Package ovstest gives tests a connected local OVS client against a
// real, private ovsdb-server (pkg/ovsdbtest) serving the installed
// Open_vSwitch schema with its root row: the server started, the client
// dialled and its cache loaded before the test body runs.
package ovstest

import (
	"context"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// connectTimeout bounds the wait for a client's first connection and monitor.
const connectTimeout = 10 * time.Second

// New starts a private Open_vSwitch database (as `ovs-vsctl init` leaves
// it) and returns a client connected to it, and the server (ovs-vsctl on
// it is an independent observer; Stop/Start is ovsdb-server going away).
func New(t testing.TB) (*ovs.Client, *ovsdbtest.Server) {
	t.Helper()
	srv := ovsdbtest.NewOVS(t)
	return Dial(t, srv), srv
}

// Dial returns a new client of srv, its cache loaded. It is closed when
// the test ends.
func Dial(t testing.TB, srv *ovsdbtest.Server) *ovs.Client {
	t.Helper()
	c := Open(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("ovstest: OVS client of %s: WaitConnected: %v", srv.Remote, err)
	}
	return c
}

// Open returns a new client of srv without waiting for it to connect.
func Open(t testing.TB, srv *ovsdbtest.Server) *ovs.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := ovs.New(ctx, []string{srv.Remote}, nil, ovsdbtest.Logger(t))
	if err != nil {
		cancel()
		t.Fatalf("ovstest: ovs.New %s: %v", srv.Remote, err)
	}
	t.Cleanup(func() { c.Close(); cancel() })
	return c
}
