// Package ovntest gives tests a connected OVN client against a real,
// private ovsdb-server (pkg/ovsdbtest) serving the installed schema: the
// server started, the client dialled, its cache loaded, and rows seeded and
// seen in the cache before the test body runs. It lives apart from pkg/ovn
// so that pkg/ovsdbtest stays free of the client it tests.
package ovntest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// connectTimeout bounds the wait for a client's first connection and
// monitor, and for a seeded row to reach its cache.
const connectTimeout = 10 * time.Second

// Seed puts rows into a fresh Northbound through the client under test
// and waits until its cache holds them.
type Seed func(t testing.TB, nb *ovn.NB)

// NewNB starts a private Northbound database, seeds it, and returns a
// client connected to it with the seeded rows in its cache, and the server
// (for a second client, ovn-nbctl as an independent observer, or a stop).
func NewNB(t testing.TB, seeds ...Seed) (*ovn.NB, *ovsdbtest.Server) {
	t.Helper()
	srv := ovsdbtest.NewNB(t)
	nb := DialNB(t, srv)
	for _, seed := range seeds {
		seed(t, nb)
	}
	return nb, srv
}

// DialNB returns a new client of srv (another daemon on the same
// database), its cache loaded. It is closed when the test ends.
func DialNB(t testing.TB, srv *ovsdbtest.Server) *ovn.NB {
	t.Helper()
	return DialNBLog(t, srv, ovsdbtest.Logger(t))
}

// DialNBLog is DialNB with the client logging to log: a benchmark's
// discarding logger (ovsdbtest.Logger keeps everything in memory).
func DialNBLog(t testing.TB, srv *ovsdbtest.Server, log *slog.Logger) *ovn.NB {
	t.Helper()
	nb := openNB(t, srv, log)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := nb.WaitConnected(ctx); err != nil {
		t.Fatalf("ovntest: Northbound client of %s: WaitConnected: %v", srv.Remote, err)
	}
	return nb
}

// OpenNB returns a new client of srv without waiting for it to connect:
// for tests of what a client does before, or without, a connection.
func OpenNB(t testing.TB, srv *ovsdbtest.Server) *ovn.NB {
	t.Helper()
	return openNB(t, srv, ovsdbtest.Logger(t))
}

func openNB(t testing.TB, srv *ovsdbtest.Server, log *slog.Logger) *ovn.NB {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	nb, err := ovn.NewNB(ctx, []string{srv.Remote}, nil, log)
	if err != nil {
		cancel()
		t.Fatalf("ovntest: NewNB %s: %v", srv.Remote, err)
	}
	t.Cleanup(func() { nb.Close(); cancel() })
	return nb
}

// Switch seeds a logical switch with the given external_ids (a network:
// network.Spec.ExternalIDs() in the daemon's tests).
func Switch(name string, externalIDs map[string]string) Seed {
	return func(t testing.TB, nb *ovn.NB) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		if _, err := nb.CreateSwitch(ctx, name, externalIDs); err != nil {
			t.Fatalf("ovntest: seed switch %s: %v", name, err)
		}
		WaitSwitch(t, nb, name)
	}
}

// WaitSwitch waits until nb's cache holds the switch name (another client
// or process created it).
func WaitSwitch(t testing.TB, nb *ovn.NB, name string) {
	t.Helper()
	ovsdbtest.Eventually(t, connectTimeout, func() bool { _, err := nb.GetSwitch(name); return err == nil },
		"switch %s never reached the client's cache", name)
}

// NewSB starts a private Southbound database and returns a client
// connected to it, and the server (ovn-sbctl chassis-add ... registers a
// chassis as ovn-controller would).
func NewSB(t testing.TB) (*ovn.SB, *ovsdbtest.Server) {
	t.Helper()
	srv := ovsdbtest.NewSB(t)
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := ovn.NewSB(ctx, []string{srv.Remote}, nil, ovsdbtest.Logger(t))
	if err != nil {
		cancel()
		t.Fatalf("ovntest: NewSB %s: %v", srv.Remote, err)
	}
	t.Cleanup(func() { sb.Close(); cancel() })
	wctx, wcancel := context.WithTimeout(ctx, connectTimeout)
	defer wcancel()
	if err := sb.WaitConnected(wctx); err != nil {
		t.Fatalf("ovntest: Southbound client of %s: WaitConnected: %v", srv.Remote, err)
	}
	return sb, srv
}
