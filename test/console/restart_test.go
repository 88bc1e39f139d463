package console

import (
	"testing"
	"time"
)

// TestReconnectsAfterDaemonRestart: the daemon stopped, the page leaves
// live mode; started again, the page goes back to live by itself (no
// reload) and draws a container added after the restart.
func TestReconnectsAfterDaemonRestart(t *testing.T) {
	p := newPage(t)
	p.open()
	p.waitNode("port", w.srv.port, 10*time.Second, "drawn", present)

	w.d.Stop()
	took := p.waitMode("!live", 10*time.Second)
	t.Logf("page left live mode (%s) %v after the daemon stopped", p.mode(), took)
	start := time.Now()
	if err := w.d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := w.d.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("daemon ready again after %v", time.Since(start))
	p.waitMode("live", 20*time.Second)
	t.Logf("page live again %v after the daemon was started", time.Since(start))

	c, err := attach("after")
	if c != nil {
		t.Cleanup(func() { c.detach() })
	}
	if err != nil {
		t.Fatal(err)
	}
	p.waitNode("port", c.port, 5*time.Second, "drawn", present)
	t.Logf("container added after the restart drawn %v after its ADD returned", time.Since(c.added))
}
