// Package lvwatch follows libvirt domain lifecycle events from the daemon
// (never from a hook: a hook must not call libvirt). When a domain is
// undefined its VM ports are released; on every (re)connection the VM ports
// of domains that no longer exist are reconciled away.
package lvwatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/quantumnet/quantumnet/daemon/vm"
)

var registerOnce sync.Once

// Watcher keeps a libvirt connection with a lifecycle callback.
type Watcher struct {
	URI string
	VM  *vm.Manager
	Log *slog.Logger
}

// Run connects (and reconnects, with backoff) until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	var regErr error
	registerOnce.Do(func() {
		if regErr = libvirt.EventRegisterDefaultImpl(); regErr == nil {
			go func() {
				for {
					if err := libvirt.EventRunDefaultImpl(); err != nil {
						time.Sleep(100 * time.Millisecond)
					}
				}
			}()
		}
	})
	if regErr != nil {
		w.Log.Error("libvirt: event loop", "err", regErr)
		return
	}
	delay := 200 * time.Millisecond
	logged := false
	for ctx.Err() == nil {
		closed := make(chan struct{})
		conn, err := w.connect(ctx, closed)
		if err != nil {
			if !logged {
				w.Log.Info("libvirt: not connected (VM ports of undefined domains are released once it is)", "uri", w.URI, "err", err)
				logged = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, 10*time.Second)
			continue
		}
		logged, delay = false, 200*time.Millisecond
		w.Log.Info("libvirt: following domain events", "uri", w.URI)
		w.VM.SetDomainState(func(uuid string) (string, bool) { return domainState(conn, uuid) })
		select {
		case <-ctx.Done():
			w.VM.SetDomainState(nil)
			_, _ = conn.Close()
			return
		case <-closed:
			w.VM.SetDomainState(nil)
			w.Log.Warn("libvirt: connection lost, reconnecting", "uri", w.URI)
			_, _ = conn.Close()
		}
	}
}

func (w *Watcher) connect(ctx context.Context, closed chan struct{}) (*libvirt.Connect, error) {
	conn, err := libvirt.NewConnect(w.URI)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	if err := conn.RegisterCloseCallback(func(*libvirt.Connect, libvirt.ConnectCloseReason) { once.Do(func() { close(closed) }) }); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetKeepAlive(5, 3)
	_, err = conn.DomainEventLifecycleRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventLifecycle) {
		var act func(context.Context, string) error
		switch {
		case ev.Event == libvirt.DOMAIN_EVENT_UNDEFINED && ev.Detail == int(libvirt.DOMAIN_EVENT_UNDEFINED_RENAMED):
			return // the DEFINED_RENAMED of the new name follows: the domain lives on
		case ev.Event == libvirt.DOMAIN_EVENT_DEFINED && ev.Detail == int(libvirt.DOMAIN_EVENT_DEFINED_RENAMED):
			name, err := d.GetName()
			if err != nil {
				return
			}
			act = func(ctx context.Context, uuid string) error { return w.VM.Renamed(ctx, uuid, name) }
		case ev.Event == libvirt.DOMAIN_EVENT_UNDEFINED:
			act = w.VM.Undefined
		case ev.Event == libvirt.DOMAIN_EVENT_RESUMED && ev.Detail == int(libvirt.DOMAIN_EVENT_RESUMED_MIGRATED):
			// The guest runs here, the destination, now: proof enough to
			// take its ports, whatever NB says of the handoff.
			act = w.VM.RunsHere
		case ev.Event == libvirt.DOMAIN_EVENT_STOPPED && ev.Detail == int(libvirt.DOMAIN_EVENT_STOPPED_MIGRATED):
			// The guest runs on the destination now (either side may see it first).
			act = w.VM.MigrationDone
		default:
			return
		}
		uuid, err := d.GetUUIDString()
		if err != nil {
			return
		}
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := act(cctx, uuid); err != nil {
				w.Log.Warn("libvirt: handling a domain event", "uuid", uuid, "event", ev.String(), "err", err)
			}
		}()
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	// What happened while we were not listening.
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		conn.Close()
		return nil, err
	}
	exists := map[string]bool{}
	states := map[string]string{}
	for _, d := range doms {
		if u, err := d.GetUUIDString(); err == nil {
			exists[u] = true
			states[u] = stateName(&d)
		}
		d.Free()
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.VM.ReconcileMigrations(cctx, func(u string) string { return states[u] }); err != nil {
		w.Log.Warn("libvirt: reconcile of half-done migrations", "err", err)
	}
	if err := w.VM.Reconcile(cctx, func(u string) bool { return exists[u] }); err != nil {
		w.Log.Warn("libvirt: reconcile of VM ports", "err", err)
	}
	return conn, nil
}

// stateName is a defined domain's state as vm.Manager names it.
func stateName(d *libvirt.Domain) string {
	st, _, err := d.GetState()
	switch {
	case err != nil:
		return "shutoff"
	case st == libvirt.DOMAIN_RUNNING:
		return "running"
	case st == libvirt.DOMAIN_PAUSED:
		return "paused"
	}
	return "shutoff"
}

// domainState asks libvirt about one domain: "" (known) when it is not
// defined here, known false when libvirt did not answer.
func domainState(conn *libvirt.Connect, uuid string) (string, bool) {
	d, err := conn.LookupDomainByUUIDString(uuid)
	if err != nil {
		var lerr libvirt.Error
		if errors.As(err, &lerr) && lerr.Code == libvirt.ERR_NO_DOMAIN {
			return "", true
		}
		return "", false
	}
	defer d.Free()
	return stateName(d), true
}
