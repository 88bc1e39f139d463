// Package lvwatch follows libvirt domain lifecycle events from the daemon
// (never from a hook: a hook must not call libvirt). When a domain is
// undefined its VM ports are released; on every (re)connection the VM ports
// of domains that no longer exist are reconciled away.
package lvwatch

import (
	"context"
	"errors"
	"fmt"
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
			w.VM.SetDomainState(nil)
			conn.close()
			return
		case <-closed:
			w.VM.SetDomainState(nil)
			w.Log.Warn("libvirt: connection lost, reconnecting", "uri", w.URI)
			conn.close()
		}
	}
}

func (w *Watcher) connect(ctx context.Context, closed chan struct{}) (*liveConn, error) {
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
	live := &liveConn{c: conn}
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
			resumed := time.Now()
			act = func(ctx context.Context, uuid string) error {
				w.VM.MeasureGap(uuid, resumed, func() (time.Duration, error) { return live.downtime(uuid) })
				return w.VM.RunsHere(ctx, uuid)
			}
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
	// What happened while we were not listening; libvirt is asked live,
	// per domain, so that a retry never acts on an old answer.
	w.VM.SetDomainState(live.state)
	go w.reconcile(ctx, closed, live)
	return live, nil
}

// liveConn is the connection others ask about domains while it is open
// (never after close: a closed libvirt connection is freed memory).
type liveConn struct {
	mu sync.Mutex
	c  *libvirt.Connect // nil once closed
}

// state is domainState while the connection is open (known false after).
func (l *liveConn) state(uuid string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		return "", false
	}
	return domainState(l.c, uuid)
}

// downtime is QEMU's downtime of the domain's last migration here:
// libvirt's completed-job statistics (kept for others to read: virsh
// domjobinfo --completed), asked until libvirt has them (it may record
// them just after the resume event) for up to 5 s.
func (l *liveConn) downtime(uuid string) (time.Duration, error) {
	var last error
	for i := 0; i < 50; i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		var info *libvirt.DomainJobInfo
		info, last = l.completedJob(uuid)
		if last == nil && info.DowntimeSet {
			return time.Duration(info.Downtime) * time.Millisecond, nil
		}
		if last == nil {
			last = fmt.Errorf("libvirt's completed job (type %d) has no downtime", info.Type)
		}
	}
	return 0, last
}

// completedJob is the domain's completed-job statistics.
func (l *liveConn) completedJob(uuid string) (*libvirt.DomainJobInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		return nil, errors.New("libvirt: not connected")
	}
	d, err := l.c.LookupDomainByUUIDString(uuid)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	return d.GetJobStats(libvirt.DOMAIN_JOB_STATS_COMPLETED | libvirt.DOMAIN_JOB_STATS_KEEP_COMPLETED)
}

func (l *liveConn) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		_, _ = l.c.Close()
		l.c = nil
	}
}

// reconcile finishes what happened while nobody listened: half-done
// migrations, then the ports of domains gone. At start Northbound may not
// be connected yet: it retries until both succeed, the connection closes
// or ctx ends.
func (w *Watcher) reconcile(ctx context.Context, closed <-chan struct{}, conn *liveConn) {
	// A domain libvirt does not answer about is left alone: "unknown" is
	// no state a reconcile acts on, and it exists.
	state := func(u string) string {
		if st, known := conn.state(u); known {
			return st
		}
		return "unknown"
	}
	exists := func(u string) bool { return state(u) != "" }
	migDone := false
	for delay := 200 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var err error
		if !migDone {
			if err = w.VM.ReconcileMigrations(cctx, state); err != nil {
				w.Log.Warn("libvirt: reconcile of half-done migrations (retrying)", "err", err)
			}
			migDone = err == nil
		}
		if migDone {
			if err = w.VM.Reconcile(cctx, exists); err != nil {
				w.Log.Warn("libvirt: reconcile of VM ports (retrying)", "err", err)
			}
		}
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case <-time.After(delay):
		}
	}
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
