package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// hl drives the host-local binary as a runtime does: one process per
// command, the network config on stdin, CNI_* in the environment.
type hl struct {
	bin     string
	dataDir string // the config's dataDir
	netDir  string // dataDir/<network name>: host-local's store
	netns   string
	env     []string
	conf    []byte
	usable  []netip.Addr // in host-local's order (range start .. end, gateway skipped)
	filled  int          // usable[:filled] are held by pre-fill files
}

// cniResult is the part of a CNI result read here.
type cniResult struct {
	IPs []struct {
		Address string `json:"address"`
	} `json:"ips"`
}

// usableAddrs are the addresses host-local hands out on subnet with the
// default range and gateway: network+2 .. broadcast-1 (network+1 is the
// gateway, the range starts at network+1 and skips it).
func usableAddrs(subnet netip.Prefix) []netip.Addr {
	n := 1<<(32-subnet.Bits()) - 3
	out := make([]netip.Addr, 0, n)
	a := subnet.Addr().Next().Next()
	for range n {
		out = append(out, a)
		a = a.Next()
	}
	return out
}

// containerID is a runtime-like 64-hex container ID.
func containerID(tag string, i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s-%d", tag, i))
	return hex.EncodeToString(h[:])
}

func (e *env) hostLocal(ctx context.Context, bin string, fills []int) error {
	subnet := netip.PrefixFrom(netip.MustParseAddr(subnetBase), *flagPrefix)
	h := &hl{bin: bin, dataDir: filepath.Join(e.h.Tmp, "host-local"), usable: usableAddrs(subnet)}
	h.netDir = filepath.Join(h.dataDir, netName)
	if err := os.MkdirAll(h.netDir, 0o755); err != nil {
		return err
	}
	conf := map[string]any{
		"cniVersion": cniVersion, "name": netName,
		"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]string{{{"subnet": subnet.String()}}}, "dataDir": h.dataDir},
	}
	h.conf, _ = json.Marshal(conf)
	if err := h.makeNetns(e); err != nil {
		return err
	}
	// The runtime's environment plus the CNI variables (as libcni does).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CNI_") {
			h.env = append(h.env, kv)
		}
	}
	h.env = append(h.env, "CNI_NETNS="+h.netns, "CNI_IFNAME="+ifname, "CNI_PATH="+filepath.Dir(bin))
	if h.netns == "/proc/self/ns/net" {
		h.env = append(h.env, "CNI_NETNS_OVERRIDE=1")
	}
	e.res.HostLocal.Config = string(h.conf)
	e.res.HostLocal.Usable = len(h.usable)
	// Warm up (not timed): the binary in the page cache, the store created.
	for i := range 3 {
		id := containerID("warmup", i)
		if _, err := h.cni(ctx, "ADD", id); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if _, err := h.cni(ctx, "DEL", id); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	for _, fill := range fills {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		target := len(h.usable) * fill / 100
		n := min(*flagN, len(h.usable)-target) // what fits
		if n < 1 {
			return fmt.Errorf("fill %d %%: no free address left", fill)
		}
		t := time.Now()
		if err := h.fillTo(target); err != nil {
			return fmt.Errorf("pre-fill to %d: %w", target, err)
		}
		logf("host-local: %d %% full (%d addresses, files written in %s): %d ADDs (at most %s), then DELs", fill, target, time.Since(t).Round(time.Millisecond), n, *flagMaxPhase)
		lvl, err := h.measure(ctx, fill, n)
		e.res.HostLocal.Levels = append(e.res.HostLocal.Levels, lvl)
		if err != nil {
			return fmt.Errorf("fill %d %%: %w", fill, err)
		}
	}
	return nil
}

// makeNetns starts a process in a new network namespace and uses its netns
// path as CNI_NETNS: the runtime passes the container's netns, which skel
// requires to differ from the plugin's own (host-local never enters it).
func (h *hl) makeNetns(e *env) error {
	sleep, err := exec.LookPath("sleep")
	if err == nil {
		cmd := exec.Command(sleep, "infinity")
		attr := childAttr()
		attr.Cloneflags = syscall.CLONE_NEWNET
		cmd.SysProcAttr = attr
		var p *proc
		if p, err = startProc("netns holder", cmd); err == nil {
			e.h.Cleanup(func() { p.stop(syscall.SIGKILL, time.Second) })
			h.netns = fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
			return nil
		}
	}
	logf("NOTE: cannot create a network namespace (%v): CNI_NETNS=/proc/self/ns/net with CNI_NETNS_OVERRIDE=1", err)
	h.netns = "/proc/self/ns/net"
	return nil
}

// fillTo writes the state files of usable[filled:target] as host-local's
// disk store does (file named by the address, "<id>\r\n<ifname>", mode
// 0600), and last_reserved_ip.0 as the last of them: the state host-local
// leaves after handing those addresses out one by one.
func (h *hl) fillTo(target int) error {
	for i := h.filled; i < target; i++ {
		body := containerID("fill", i) + "\r\n" + ifname
		if err := os.WriteFile(filepath.Join(h.netDir, h.usable[i].String()), []byte(body), 0o600); err != nil {
			return err
		}
	}
	if target > 0 {
		if err := os.WriteFile(filepath.Join(h.netDir, "last_reserved_ip.0"), []byte(h.usable[target-1].String()), 0o600); err != nil {
			return err
		}
	}
	h.filled = max(h.filled, target)
	return nil
}

// cni runs one command.
func (h *hl) cni(ctx context.Context, command, id string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.bin)
	// Its own process group: a Ctrl-C reaches this program, which stops.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(append([]string(nil), h.env...), "CNI_COMMAND="+command, "CNI_CONTAINERID="+id)
	cmd.Stdin = bytes.NewReader(h.conf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("host-local %s %s: %v: %s %s", command, id[:12], err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// measure: up to -n ADDs one after another (capped by -max-phase), each
// checked (an address of the subnet, not pre-filled, not handed out twice),
// then as many DELs; then the data dir must hold the pre-fill only.
func (h *hl) measure(ctx context.Context, fill, n int) (hlLevel, error) {
	lvl := hlLevel{FillPct: fill, Filled: h.filled}
	index := make(map[netip.Addr]int, len(h.usable))
	for i, a := range h.usable {
		index[a] = i
	}
	var ids []string
	var lat []time.Duration
	seen := map[netip.Addr]bool{}
	start := time.Now()
	var addErr error
	for i := 0; i < n; i++ {
		if i >= 10 && time.Since(start) > *flagMaxPhase {
			lvl.Capped = true
			break
		}
		id := containerID(fmt.Sprintf("add%d", fill), i)
		t := time.Now()
		out, err := h.cni(ctx, "ADD", id)
		d := time.Since(t)
		if err != nil {
			addErr = err
			break
		}
		ids = append(ids, id)
		lat = append(lat, d)
		var r cniResult
		if err := json.Unmarshal(out, &r); err != nil || len(r.IPs) != 1 {
			addErr = fmt.Errorf("ADD %s: unexpected result %q", id[:12], out)
			break
		}
		p, err := netip.ParsePrefix(r.IPs[0].Address)
		if err != nil {
			addErr = fmt.Errorf("ADD %s: address %q: %v", id[:12], r.IPs[0].Address, err)
			break
		}
		if j, ok := index[p.Addr()]; !ok || j < h.filled || seen[p.Addr()] {
			addErr = fmt.Errorf("ADD %s: got %s: outside the usable range, pre-filled, or handed out twice", id[:12], p.Addr())
			break
		}
		seen[p.Addr()] = true
	}
	lvl.Add = summarize(lat, time.Since(start))
	// Delete what was added, also after a failure (not when interrupted:
	// the data dir goes anyway).
	lat = lat[:0]
	start = time.Now()
	var delErr error
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		t := time.Now()
		if _, err := h.cni(ctx, "DEL", id); err != nil {
			delErr = err
			break
		}
		lat = append(lat, time.Since(t))
	}
	lvl.Del = summarize(lat, time.Since(start))
	if addErr != nil {
		return lvl, addErr
	}
	if delErr != nil {
		return lvl, delErr
	}
	if ctx.Err() != nil {
		return lvl, ctx.Err()
	}
	left, err := h.held()
	if err != nil {
		return lvl, err
	}
	if left != h.filled {
		return lvl, fmt.Errorf("after the DELs the data dir holds %d addresses, want the %d pre-filled", left, h.filled)
	}
	return lvl, nil
}

// held counts the reservations in the store.
func (h *hl) held() (int, error) {
	ents, err := os.ReadDir(h.netDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != "lock" && !strings.HasPrefix(e.Name(), "last_reserved_ip.") {
			n++
		}
	}
	return n, nil
}
