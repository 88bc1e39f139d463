// Package lvwatch follows libvirt domain lifecycle events from the daemon
// (never from a hook: a hook must not call libvirt). When a domain is
// undefined its VM ports are released; on every (re)connection the VM ports
// of domains that no longer exist are reconciled away.
package lvwatch

import (
	"context"
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
		select {
		case <-ctx.Done():
			_, _ = conn.Close()
			return
		case <-closed:
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
		if ev.Event != libvirt.DOMAIN_EVENT_UNDEFINED {
			return
		}
		uuid, err := d.GetUUIDString()
		if err != nil {
			return
		}
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := w.VM.Undefined(cctx, uuid); err != nil {
				w.Log.Warn("libvirt: releasing the ports of an undefined domain", "uuid", uuid, "err", err)
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
	for _, d := range doms {
		if u, err := d.GetUUIDString(); err == nil {
			exists[u] = true
		}
		d.Free()
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.VM.Reconcile(cctx, func(u string) bool { return exists[u] }); err != nil {
		w.Log.Warn("libvirt: reconcile of VM ports", "err", err)
	}
	return conn, nil
}
