package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/test/harness"
)

// The floor contender: the OVS/OVN work of an ADD and nothing else. Not
// timed: its logical port (created with the namespace's veth, Northbound
// and Southbound up to date: ovn-nbctl --wait=sb) and the veth pair with
// its container end configured in the namespace. Timed: one libovsdb
// transaction inserting the OVS port (Interface with iface-id, Port,
// br-int's ports) and the wait for ovn-controller's ovn-installed on the
// Interface (a monitor event). In the parallel mode each goroutine commits
// its own insert: nothing is batched.
const (
	floorNet16  = "10.80" // 10.80.0.0/16
	floorBridge = "br-int"
)

type floor struct {
	b      *bench
	ovs    *ovs.Client
	cancel context.CancelFunc
	sw     string // logical switch, once created
	owner  string // OVS external_ids:qnbench-owner of its ports

	mu    sync.Mutex
	seq   int
	ports map[string]*floorPort       // attachment id ->
	timed map[string][2]time.Duration // attachment id -> insert, wait (kept after DEL)
}

type floorPort struct {
	lsp, host string
	mac       net.HardwareAddr
	addr      netip.Prefix
}

// floorSetup creates the floor's logical switch and its OVS client.
func (b *bench) floorSetup(ctx context.Context) error {
	f := &floor{b: b, owner: fmt.Sprintf("qnbench-fl-%d", b.pid), ports: map[string]*floorPort{}, timed: map[string][2]time.Duration{}}
	sw := fmt.Sprintf("qnbench-fl-%d", b.pid)
	if out, err := b.nbctl(ctx, "ls-add", sw); err != nil {
		return fmt.Errorf("ovn-nbctl ls-add %s: %v\n%s", sw, err, out)
	}
	f.sw = sw
	b.floor = f
	cctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	c, err := ovs.New(cctx, []string{b.env["QN_OVS_REMOTE"]}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return fmt.Errorf("floor: OVS client: %w", err)
	}
	f.ovs = c
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	return c.WaitConnected(wctx)
}

func (b *bench) nbctl(ctx context.Context, args ...string) (string, error) {
	return b.cmd(ctx, 30*time.Second, "ovn-nbctl", append([]string{"--db=" + b.env["QN_NB_REMOTE"], "--timeout=20"}, args...)...)
}

// prepare is the untimed part: logical ports (in one ovn-nbctl call, until
// Southbound has them) and veths.
func (f *floor) prepare(ctx context.Context, atts []*attachment) error {
	args := []string{"--wait=sb"}
	ps := make([]*floorPort, len(atts))
	f.mu.Lock()
	for i, a := range atts {
		n := f.seq
		f.seq++
		o3, o4 := n/250%256, n%250+2
		p := &floorPort{
			lsp:  fmt.Sprintf("qnbench-fl-%d-%d", f.b.pid, n),
			host: fmt.Sprintf("qbf%05d%05d", f.b.pid%100000, n%100000),
			mac:  net.HardwareAddr{0x0a, 0x58, 10, 80, byte(o3), byte(o4)},
			addr: netip.MustParsePrefix(fmt.Sprintf("%s.%d.%d/16", floorNet16, o3, o4)),
		}
		ps[i] = p
		f.ports[a.id] = p
		args = append(args, "--", "lsp-add", f.sw, p.lsp, "--", "lsp-set-addresses", p.lsp, p.mac.String()+" "+p.addr.Addr().String(),
			"--", "lsp-set-options", p.lsp, "requested-chassis="+f.b.env["QN_CHASSIS"])
	}
	f.mu.Unlock()
	if out, err := f.b.nbctl(ctx, args...); err != nil {
		return fmt.Errorf("floor: ovn-nbctl lsp-add (%d ports): %v\n%s", len(atts), err, out)
	}
	for i, a := range atts {
		p := ps[i]
		info, err := hostnet.SetupVeth(hostnet.VethSpec{HostName: p.host, ContName: ifname, Netns: a.path, MAC: p.mac, MTU: 1400,
			Addrs: []netip.Prefix{p.addr}, TxCsumOff: true})
		if err != nil {
			return fmt.Errorf("floor: veth %s: %w", p.host, err)
		}
		ip := net.IPNet{IP: p.addr.Addr().AsSlice(), Mask: net.CIDRMask(p.addr.Bits(), 32)}
		idx := 1
		a.result = &current.Result{CNIVersion: cniVersion,
			Interfaces: []*current.Interface{{Name: p.host}, {Name: ifname, Mac: info.ContMAC.String(), Sandbox: a.path}},
			IPs:        []*current.IPConfig{{Address: ip, Interface: &idx}}}
	}
	return nil
}

// add is the timed part: the OVS port insert and the wait for its flows.
func (f *floor) add(ctx context.Context, a *attachment) error {
	f.mu.Lock()
	p := f.ports[a.id]
	f.mu.Unlock()
	if p == nil {
		return fmt.Errorf("floor: %s was not prepared", a.id)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The MAC goes on the port's row too (only the iface's matters).
	insert, wait, err := harness.FloorAdd(wctx, f.ovs, floorBridge, p.host, p.lsp,
		map[string]string{ovs.KeyAttachedMAC: p.mac.String(), "qnbench-owner": f.owner})
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.timed[a.id] = [2]time.Duration{insert, wait}
	f.mu.Unlock()
	return nil
}

// del removes the OVS port, the veth and the logical port (not timed).
func (f *floor) del(ctx context.Context, a *attachment) error {
	f.mu.Lock()
	p := f.ports[a.id]
	f.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := f.ovs.DeletePort(ctx, floorBridge, p.host); err != nil {
		return err
	}
	if err := hostnet.DeleteHostVeth(p.host); err != nil {
		return err
	}
	if out, err := f.b.nbctl(ctx, "--if-exists", "lsp-del", p.lsp); err != nil {
		return fmt.Errorf("ovn-nbctl lsp-del %s: %v: %s", p.lsp, err, out)
	}
	f.mu.Lock()
	delete(f.ports, a.id)
	f.mu.Unlock()
	return nil
}

// times are the timed parts of the attachments' ADDs.
func (f *floor) times(atts []*attachment) (insert, wait []time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range atts {
		if t, ok := f.timed[a.id]; ok {
			insert, wait = append(insert, t[0]), append(wait, t[1])
		}
	}
	return insert, wait
}

func (f *floor) owned(r ovsRow) bool { return r.IDs["qnbench-owner"] == f.owner }

func (b *bench) verifyFloor(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	f := b.floor
	if out, err := b.nbctl(ctx, "lsp-list", f.sw); err != nil {
		errs = append(errs, fmt.Errorf("ovn-nbctl lsp-list: %v: %s", err, out))
	} else if s := strings.TrimSpace(out); s != "" {
		errs = append(errs, fmt.Errorf("logical ports left on %s: %d", f.sw, len(strings.Split(s, "\n"))))
	}
	if left, err := b.ovsLeftovers(ctx, f.owned); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("OVS rows left: %v", left))
	}
	return errors.Join(errs...)
}

// delFloor is a cleanup step: the floor's OVS ports, veths and switch,
// and its OVS client.
func (b *bench) delFloor(ctx context.Context, note func(error)) {
	f := b.floor
	if f == nil {
		return
	}
	if left, err := b.ovsLeftovers(ctx, f.owned); err == nil {
		for _, l := range left {
			if name, ok := strings.CutPrefix(l, "Port "); ok {
				_, err := b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10", "--if-exists", "del-port", floorBridge, name)
				note(err)
			}
		}
	}
	f.mu.Lock()
	for _, p := range f.ports {
		note(hostnet.DeleteHostVeth(p.host))
	}
	f.mu.Unlock()
	if f.sw != "" {
		if out, err := b.nbctl(ctx, "--if-exists", "ls-del", f.sw); err != nil {
			note(fmt.Errorf("ovn-nbctl ls-del %s: %v: %s", f.sw, err, out))
		}
	}
	if f.ovs != nil {
		f.ovs.Close()
	}
	f.cancel()
}
