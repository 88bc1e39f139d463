package chassis

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ControllerProbe tells whether this host's ovn-controller is alive: a
// dead one leaves a healthy-looking Chassis row in Southbound, and every
// port would wait for flows that never come. It finds ovn-controller's
// pidfile in the first of Dirs that has one and asks its unixctl socket
// (<dir>/ovn-controller.<pid>.ctl) for its version. Without a pidfile
// in any of Dirs (ovn-controller runs elsewhere, or stopped cleanly and
// took its Chassis row away) it has no opinion.
type ControllerProbe struct {
	Dirs    []string      // where ovn-controller keeps its pidfile and control socket (OVN_RUNDIR)
	Timeout time.Duration // for an answer; default 1s
	Cache   time.Duration // how long a result is reused; default 1s

	mu   sync.Mutex
	at   time.Time
	last error
}

// ControllerDirs are the directories ovn-controller's files are looked for
// in: next to the local OVS database's unix socket (a sandbox keeps OVS and
// OVN run files together), $OVN_RUNDIR, then the packages' defaults.
func ControllerDirs(ovsRemote string) []string {
	var dirs []string
	if path, ok := strings.CutPrefix(ovsRemote, "unix:"); ok {
		dirs = append(dirs, filepath.Dir(path))
	}
	if d := os.Getenv("OVN_RUNDIR"); d != "" {
		dirs = append(dirs, d)
	}
	return append(dirs, "/var/run/ovn", "/run/ovn")
}

// Check returns an error naming ovn-controller when it does not answer.
func (p *ControllerProbe) Check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cache := p.Cache
	if cache <= 0 {
		cache = time.Second
	}
	if !p.at.IsZero() && time.Since(p.at) < cache {
		return p.last
	}
	p.last, p.at = p.check(), time.Now()
	return p.last
}

func (p *ControllerProbe) check() error {
	for _, dir := range p.Dirs {
		b, err := os.ReadFile(filepath.Join(dir, "ovn-controller.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			return fmt.Errorf("ovn-controller: pidfile %s is unreadable (%q)", filepath.Join(dir, "ovn-controller.pid"), b)
		}
		sock := filepath.Join(dir, fmt.Sprintf("ovn-controller.%d.ctl", pid))
		if err := unixctlVersion(sock, p.timeout()); err != nil {
			return fmt.Errorf("ovn-controller (pid %d) does not answer on %s (dead or hung?): %v", pid, sock, err)
		}
		return nil
	}
	return nil
}

func (p *ControllerProbe) timeout() time.Duration {
	if p.Timeout <= 0 {
		return time.Second
	}
	return p.Timeout
}

// unixctlVersion asks an OVS/OVN daemon's control socket for its version
// (the unixctl JSON-RPC every such daemon answers).
func unixctlVersion(sock string, timeout time.Duration) error {
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(`{"method":"version","params":[],"id":0}`)); err != nil {
		return err
	}
	var reply struct {
		Result any `json:"result"`
		Error  any `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&reply); err != nil {
		return err
	}
	if reply.Error != nil {
		return fmt.Errorf("version: %v", reply.Error)
	}
	return nil
}
