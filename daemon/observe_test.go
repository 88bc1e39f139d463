package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/attach"
	"github.com/quantumnet/quantumnet/daemon/config"
	"github.com/quantumnet/quantumnet/daemon/httpapi"
	"github.com/quantumnet/quantumnet/daemon/server"
)

// TestConsoleMountedWhenOn: the listener has /console/ with [http]
// console = true, and none (404) without.
func TestConsoleMountedWhenOn(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for on, want := range map[bool]int{false: 404, true: 200} {
		cfg := config.HTTP{Listen: "127.0.0.1:9476", Console: on}
		h, err := httpapi.New(cfg, func(context.Context) (bool, []string) { return true, nil }, log)
		if err != nil {
			t.Fatal(err)
		}
		p := &parts{attach: &attach.Manager{Chassis: "c1"}, server: &server.Server{Log: log}}
		if err := (&observability{cfg: cfg}).mountConsole(context.Background(), h, p, log); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/console/", "/console/login"} {
			rec := httptest.NewRecorder()
			h.Mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if got := rec.Code; (want == 404) != (got == 404) {
				t.Errorf("console = %v: GET %s: %d, want %d", on, path, got, want)
			}
		}
	}
}
