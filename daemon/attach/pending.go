package attach

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// FinishPendingDels does the DELs the CNI plugin recorded while the daemon
// could not take them (unreachable, stuck, not ready), and removes each
// record once done. A record whose attachment was added again since (ADD
// removes the record) is gone by the time its lock is held, and skipped.
func (m *Manager) FinishPendingDels(ctx context.Context) error {
	dir := api.PendingDelDir(m.PendingDelDir)
	recs, err := api.ReadPendingDels(dir)
	fails := []error{err}
	for _, p := range recs {
		fails = append(fails, m.finishPendingDel(ctx, dir, p))
	}
	return errors.Join(fails...)
}

func (m *Manager) finishPendingDel(ctx context.Context, dir string, p api.PendingDel) error {
	r := Request{ContainerID: p.ContainerID, Ifname: p.Ifname}
	if err := r.Validate("DEL"); err != nil {
		_ = api.RemovePendingDel(dir, p.ContainerID, p.Ifname)
		return fmt.Errorf("pending DEL of %s/%s dropped: %w", p.ContainerID, p.Ifname, err)
	}
	defer m.lock(r.ContainerID, r.Ifname)()
	if !pendingDelExists(dir, p) {
		return nil // an ADD or the plugin's own DEL took it meanwhile
	}
	if err := m.del(ctx, r); err != nil {
		return fmt.Errorf("pending DEL of %s/%s (since %s): %w", p.ContainerID, p.Ifname, p.Since.Format(time.RFC3339), err)
	}
	m.Log.Info("finished a DEL recorded while the daemon was unreachable", "container", p.ContainerID, "ifname", p.Ifname,
		"since", p.Since)
	return api.RemovePendingDel(dir, p.ContainerID, p.Ifname)
}

// pendingDelExists says whether the record of p is still in dir.
func pendingDelExists(dir string, p api.PendingDel) bool {
	recs, _ := api.ReadPendingDels(dir)
	for _, q := range recs {
		if q.ContainerID == p.ContainerID && q.Ifname == p.Ifname {
			return true
		}
	}
	return false
}

// RunPendingDels finishes recorded DELs once the start-up reconcile ran,
// then every interval, until ctx ends.
func (m *Manager) RunPendingDels(ctx context.Context, interval time.Duration) {
	if err := m.waitReconciled(ctx); err != nil {
		return
	}
	for {
		if _, err := os.Stat(api.PendingDelDir(m.PendingDelDir)); err == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			if err := m.FinishPendingDels(cctx); err != nil {
				m.Log.Warn("pending DELs", "err", err)
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
