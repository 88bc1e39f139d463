package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// ---------------------------------------------------------------- verification

// hostIfnames are the host-side interfaces the results name (no sandbox).
func hostIfnames(atts []*attachment) []string {
	var out []string
	for _, a := range atts {
		if a.result == nil {
			continue
		}
		for _, i := range a.result.Interfaces {
			if i.Sandbox == "" && i.Name != bridgeName {
				out = append(out, i.Name)
			}
		}
	}
	return out
}

func verifyCommon(atts []*attachment) []error {
	var errs []error
	for _, a := range atts {
		if err := onlyLoopback(a.path); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range hostIfnames(atts) {
		if _, err := netlink.LinkByName(h); err == nil {
			errs = append(errs, fmt.Errorf("host interface %s still exists", h))
		}
	}
	return errs
}

type ovsRow struct {
	Name string
	IDs  map[string]string
}

// ovsRows lists name and external_ids of every row of an OVS table.
func (b *bench) ovsRows(ctx context.Context, table string) ([]ovsRow, error) {
	out, err := b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10",
		"--format=json", "--columns=name,external_ids", "list", table)
	if err != nil {
		return nil, fmt.Errorf("ovs-vsctl list %s: %v: %s", table, err, out)
	}
	var doc struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("ovs-vsctl list %s: %w", table, err)
	}
	var rows []ovsRow
	for _, d := range doc.Data {
		if len(d) != 2 {
			continue
		}
		r := ovsRow{IDs: map[string]string{}}
		_ = json.Unmarshal(d[0], &r.Name)
		var m []json.RawMessage // ["map", [[k, v], ...]]
		if json.Unmarshal(d[1], &m) == nil && len(m) == 2 {
			var kvs [][]string
			if json.Unmarshal(m[1], &kvs) == nil {
				for _, kv := range kvs {
					if len(kv) == 2 {
						r.IDs[kv[0]] = kv[1]
					}
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func (b *bench) ovsLeftovers(ctx context.Context, match func(ovsRow) bool) ([]string, error) {
	var left []string
	for _, t := range []string{"Port", "Interface"} {
		rows, err := b.ovsRows(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if match(r) {
				left = append(left, t+" "+r.Name)
			}
		}
	}
	return left, nil
}

// qnOwned: an OVS Port quantumnetd created for one of this run's containers
// (its Interface goes with it).
func (b *bench) qnOwned(r ovsRow) bool {
	return strings.HasPrefix(r.IDs["quantumnet:container-id"], fmt.Sprintf("qnbench-%d-", b.pid))
}

func (b *bench) verifyQN(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	out, err := b.qnetctl(ctx, "-o", "json", "port", "list", "--network", b.network)
	if err != nil {
		errs = append(errs, fmt.Errorf("qnetctl port list: %v: %s", err, out))
	} else {
		var ports []map[string]any
		if err := json.Unmarshal([]byte(out), &ports); err != nil {
			errs = append(errs, fmt.Errorf("qnetctl port list: %w", err))
		} else if len(ports) > 0 {
			errs = append(errs, fmt.Errorf("%d logical port(s) left on network %s (first: %v)", len(ports), b.network, ports[0]["name"]))
		}
	}
	if left, err := b.ovsLeftovers(ctx, b.qnOwned); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("OVS rows left: %v", left))
	}
	return errors.Join(errs...)
}

func (b *bench) verifyBridge(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	if br, err := netlink.LinkByName(bridgeName); err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			errs = append(errs, err)
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				errs = append(errs, fmt.Errorf("%s still has port %s", bridgeName, l.Attrs().Name))
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Join(b.hostLocalDir, "qnbench-br"))
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			errs = append(errs, fmt.Errorf("host-local still holds %s", e.Name()))
		}
	}
	return errors.Join(errs...)
}

func (b *bench) verifyShell(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "lsp-list", b.shellSwitch)
	if err != nil {
		errs = append(errs, fmt.Errorf("ovn-nbctl lsp-list: %v: %s", err, out))
	} else if s := strings.TrimSpace(out); s != "" {
		errs = append(errs, fmt.Errorf("logical ports left on %s: %d", b.shellSwitch, len(strings.Split(s, "\n"))))
	}
	if left, err := b.ovsLeftovers(ctx, func(r ovsRow) bool { return r.IDs["qnbench-owner"] == b.shellOwner }); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("OVS rows left: %v", left))
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------- cleanup

func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	note := func(err error) {
		if err != nil {
			logf("cleanup: %v", err)
			errs = append(errs, err)
		}
	}
	for _, step := range []func(context.Context, func(error)){
		b.delLive, b.delNamespaces, b.delNetwork, b.stopDaemon, b.delShell, b.delFloor, b.delBridge, b.sandboxDown,
	} {
		step(ctx, note)
	}

	// 8. Temp dir.
	if b.stderrLog != nil {
		b.stderrLog.Close()
	}
	if b.tmp != "" {
		if *flagKeep || len(errs) > 0 {
			logf("temp dir kept: %s", b.tmp)
		} else {
			note(os.RemoveAll(b.tmp))
		}
	}
	return errors.Join(errs...)
}

// delLive is cleanup step 1: DEL what is still attached (failed or
// interrupted phases).
func (b *bench) delLive(ctx context.Context, note func(error)) {
	for _, c := range b.contenders {
		c.mu.Lock()
		var atts []*attachment
		for _, a := range c.live {
			atts = append(atts, a)
		}
		c.mu.Unlock()
		if len(atts) == 0 {
			continue
		}
		logf("cleanup: DEL of %d %s attachment(s)", len(atts), c.name)
		for _, err := range forEach(ctx, len(atts), 8, func(i int) error { return b.delWith(ctx, b.cniDetached, c, atts[i]) }) {
			note(err)
		}
	}
}

// delNamespaces is cleanup step 2: namespaces (their veths go with them).
func (b *bench) delNamespaces(ctx context.Context, note func(error)) {
	b.nsMu.Lock()
	var names []string
	for n := range b.namespaces {
		names = append(names, n)
	}
	b.nsMu.Unlock()
	if len(names) > 0 {
		logf("cleanup: deleting %d namespace(s)", len(names))
		note(b.deleteNamespaces(ctx, names))
	}
}

// delNetwork is cleanup step 3: the quantumnet network, through the
// daemon; if ports are left (a DEL failed), remove them directly so
// nothing stays behind.
func (b *bench) delNetwork(ctx context.Context, note func(error)) {
	if b.network != "" {
		if out, err := b.qnetctl(ctx, "network", "delete", b.network); err != nil {
			note(fmt.Errorf("qnetctl network delete %s: %v: %s", b.network, err, strings.TrimSpace(out)))
			b.forceRemoveQN(ctx)
		} else {
			b.network = ""
		}
	}
}

// stopDaemon is cleanup step 4: the daemon.
func (b *bench) stopDaemon(_ context.Context, note func(error)) {
	if b.daemon != nil {
		if b.daemon.Exited() {
			note(errors.New("quantumnetd had exited by itself"))
		} else {
			b.daemon.Stop() // SIGTERM, SIGKILL after 10 s
		}
	}
}

// delShell is cleanup step 5: the shell baseline's switch (with any port
// left) and OVS ports.
func (b *bench) delShell(ctx context.Context, note func(error)) {
	if b.shellSwitch != "" {
		if left, err := b.ovsLeftovers(ctx, func(r ovsRow) bool { return r.IDs["qnbench-owner"] == b.shellOwner }); err == nil {
			for _, l := range left {
				if name, ok := strings.CutPrefix(l, "Port "); ok {
					_, err := b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10", "--if-exists", "del-port", "br-int", name)
					note(err)
				}
			}
		}
		out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "--if-exists", "ls-del", b.shellSwitch)
		if err != nil {
			note(fmt.Errorf("ovn-nbctl ls-del %s: %v: %s", b.shellSwitch, err, out))
		}
	}
}

// delBridge is cleanup step 6: the bridge of the reference plugin (only
// ever created by this run: setup refuses to start when it exists).
func (b *bench) delBridge(_ context.Context, note func(error)) {
	if l, err := netlink.LinkByName(bridgeName); err == nil && b.bridgeOurs {
		if err := netlink.LinkDel(l); err != nil {
			note(fmt.Errorf("deleting %s: %w", bridgeName, err))
		}
	}
}

// sandboxDown is cleanup step 7: the sandbox, if this run started it.
func (b *bench) sandboxDown(ctx context.Context, note func(error)) {
	if b.sandboxStarted {
		logf("cleanup: scripts/sandbox.sh down (this run started the sandbox)")
		if out, err := b.cmd(ctx, 90*time.Second, filepath.Join(b.repo, "scripts", "sandbox.sh"), "down"); err != nil {
			note(fmt.Errorf("scripts/sandbox.sh down: %v\n%s", err, out))
		}
	}
}

// forceRemoveQN removes this run's quantumnet leftovers behind the daemon's
// back (only after a DEL or the network delete failed).
func (b *bench) forceRemoveQN(ctx context.Context) {
	logf("cleanup: removing quantumnet leftovers directly (ovs-vsctl, ovn-nbctl)")
	if left, err := b.ovsLeftovers(ctx, b.qnOwned); err == nil {
		for _, l := range left {
			if name, ok := strings.CutPrefix(l, "Port "); ok {
				_, _ = b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10", "--if-exists", "del-port", "br-int", name)
				if l, err := netlink.LinkByName(name); err == nil {
					_ = netlink.LinkDel(l)
				}
			}
		}
	}
	out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "--if-exists", "ls-del", "qn-"+b.network)
	if err != nil {
		logf("cleanup: ovn-nbctl ls-del qn-%s: %v: %s", b.network, err, out)
	}
}

// ---------------------------------------------------------------- daemon facts

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// daemonLog is the daemon's log file ("" before it was started).
func (b *bench) daemonLog() string {
	if b.daemon == nil {
		return ""
	}
	return b.daemon.LogPath
}

// scanDaemonLog reports the daemon's warnings and errors.
func (b *bench) scanDaemonLog() {
	data, err := os.ReadFile(b.daemonLog())
	if err != nil {
		return
	}
	var bad []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		b.problem("quantumnetd logged %d warning/error line(s); first: %s", len(bad), bad[0])
	}
}

func (b *bench) dumpLogs() {
	for _, f := range []string{b.daemonLog(), filepath.Join(b.tmp, "plugin-stderr.log")} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(os.Stderr, "--- last lines of %s ---\n%s\n---\n", f, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}
