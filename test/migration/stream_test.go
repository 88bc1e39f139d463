package migration_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// portEvent is what the test reads of a `qnetctl port watch -o json` line.
type portEvent struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Port struct {
		Chassis      string `json:"chassis"`
		BoundChassis string `json:"bound_chassis"`
		Migration    string `json:"migration"`
		Activation   string `json:"activation"`
	} `json:"port"`
}

// portWatch is `qnetctl port watch --network N -o json` running against a
// daemon, its events of one port kept.
type portWatch struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	evs  []portEvent
	done chan struct{}
}

func watchPort(t *testing.T, d *harness.Daemon, network, port string) *portWatch {
	t.Helper()
	w := &portWatch{done: make(chan struct{})}
	w.cmd = exec.Command(filepath.Join(d.Bin, "qnetctl"), "--socket", d.ClientSocket, "port", "watch", "--network", network, "-o", "json")
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); <-w.done })
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev portEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Name == port {
				w.mu.Lock()
				w.evs = append(w.evs, ev)
				w.mu.Unlock()
			}
		}
		w.cmd.Wait()
	}()
	return w
}

func (w *portWatch) events() []portEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]portEvent(nil), w.evs...)
}

// checkMigrationStream: the stream showed the port migrating, on both
// chassis (requested on the source and the destination, the source
// bound, the migration from -> to), then on the destination alone,
// bound there.
func checkMigrationStream(t *testing.T, w *portWatch, from, to string) {
	t.Helper()
	src, dst := th.Vars["QN_CHASSIS_"+strings.ToUpper(from)], th.Vars["QN_CHASSIS_"+strings.ToUpper(to)]
	final := func(evs []portEvent) bool {
		if len(evs) == 0 {
			return false
		}
		p := evs[len(evs)-1].Port
		return p.Chassis == dst && p.BoundChassis == dst && p.Migration == ""
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return final(w.events()) },
		fmt.Sprintf("port watch: the port did not end on %s alone, bound there: %+v", dst, w.events()))
	for _, ev := range w.events() {
		p := ev.Port
		if ev.Type == "updated" && p.Chassis == src+","+dst && p.Migration == src+" -> "+dst && p.BoundChassis == src {
			t.Logf("port watch during the migration: chassis %s, bound %s, migration %s, activation %q", p.Chassis, p.BoundChassis, p.Migration, p.Activation)
			return
		}
	}
	t.Fatalf("port watch never showed the port on both chassis (%s,%s), bound to %s, migrating: %+v", src, dst, src, w.events())
}
