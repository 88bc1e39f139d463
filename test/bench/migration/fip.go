package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// The floating IP that follows the VM: the benchmark's network on a router
// with a gateway on the external network (the outside's subnet, physnet of
// nhost.sh mapped on both hosts), a floating IP per QuantumNet mode's VM,
// and the outside pinging it during every migration.

const (
	extNetwork = "migbext"
	router     = "migbr"
	fipBase    = 120 // floating IPs 192.0.2.120, .121, ... (one per mode)
	targetFIP  = 10 * time.Millisecond
)

// routed puts the benchmark's network on a router with a gateway on the
// external network (nhost.sh takes it all down with its NB).
func (b *bench) routed(ctx context.Context) error {
	for _, args := range [][]string{
		{"network", "create", extNetwork, "--external", "--physnet", b.env["QN_PHYSNET"], "--subnet4", "192.0.2.0/24",
			"--gateway4", b.th.OutsideIP4(), "--fip-range", "192.0.2.100-192.0.2.199"},
		{"router", "create", router}, {"router", "attach", router, network}, {"router", "set-gateway", router, extNetwork},
	} {
		if out, err := b.qnetctl(ctx, "a", args...); err != nil {
			return fmt.Errorf("qnetctl %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// floatingIP gives v the floating IP of mode number i and waits until the
// outside reaches it.
func (b *bench) floatingIP(ctx context.Context, v *vm, i int) error {
	addr := fmt.Sprintf("192.0.2.%d", fipBase+i)
	for _, args := range [][]string{{"fip", "create", extNetwork, "--address", addr}, {"fip", "associate", addr, v.iface}} {
		if out, err := b.qnetctl(ctx, "a", args...); err != nil {
			return fmt.Errorf("qnetctl %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	if !ovsdbtest.Until(ctx, 30*time.Second, func() bool {
		_, err := command(ctx, 5*time.Second, nil, "ip", "netns", "exec", b.env["QN_OUTSIDE_NETNS"], "ping", "-c", "1", "-W", "1", addr)
		return err == nil
	}) {
		return fmt.Errorf("the outside does not reach VM %s's floating IP %s", v.name, addr)
	}
	v.fip = addr
	return nil
}

// dropFIP deletes v's floating IP (the VM's port is gone: disassociated).
func (b *bench) dropFIP(ctx context.Context, v *vm) {
	if v.fip != "" {
		if out, err := b.qnetctl(ctx, "a", "fip", "delete", v.fip); err != nil {
			b.problem("fip delete %s: %v %s", v.fip, err, out)
		}
	}
}

// startFIPPing starts the outside pinging v's floating IP (nil: v has
// none) and waits for its first replies.
func (b *bench) startFIPPing(ctx context.Context, v *vm) (*pinger, error) {
	if v.fip == "" {
		return nil, nil
	}
	p, err := b.startPing(b.env["QN_OUTSIDE_NETNS"], v.fip)
	if err != nil {
		return nil, err
	}
	if !ovsdbtest.Until(ctx, 3*time.Second, func() bool { return len(p.replies()) >= 5 }) {
		b.stopPing(p, 0)
		return nil, fmt.Errorf("the outside gets no answer from the floating IP %s before the migration", v.fip)
	}
	return p, nil
}

// fipGap stops the outside's pinger and sets r's floating-IP figures: its
// gap is the longest the outside saw (the whole outage, wherever it fell;
// the east-west gap is the one across the switchover). No answer after
// virsh migrate returned is an error of the migration.
func (b *bench) fipGap(r *result, p *pinger) {
	if p == nil {
		return
	}
	last := p.lastReply()
	sent, recv, gaps := b.stopPing(p, 0)
	r.FipLost = sent - recv
	if last.Before(r.Start.Add(r.Took)) {
		r.Err = strings.TrimPrefix(r.Err+"; ", "; ") + fmt.Sprintf("the outside got no answer from the floating IP %s after virsh migrate returned (%d pings lost)", r.fip, r.FipLost)
	}
	if len(gaps) == 0 {
		return
	}
	r.FipGap = gaps[0].Len
	r.FipDiff = r.FipGap - r.Gap
}

// fipSummary is one mode and direction: the east-west and the floating
// IP's gap of the same migrations, side by side.
type fipSummary struct {
	Mode   string `json:"mode"`
	Dir    string `json:"direction"`
	EWLost stat   `json:"east_west_pings_lost"`
	Lost   stat   `json:"fip_pings_lost"`
	EWGap  stat   `json:"east_west_switchover_gap"`
	Gap    stat   `json:"fip_switchover_gap"`
	Diff   stat   `json:"fip_minus_east_west"`
	Met    bool   `json:"within_10ms"`
}

// fipReport prints the floating IP's gap next to the east-west gap of the
// same migrations, per QuantumNet mode and direction.
func (b *bench) fipReport(w io.Writer, modes []modeSpec) []*fipSummary {
	var out []*fipSummary
	row := "%-5s %-17s %-11s %-11s %-15s %-15s %-17s %s\n"
	for _, d := range []string{"ab", "ba"} {
		for _, m := range modes {
			s := &fipSummary{Mode: m.name, Dir: strings.ToUpper(d[:1]) + "->" + strings.ToUpper(d[1:])}
			var ewl, fl, ewg, fg, diff []float64
			for _, r := range b.results {
				if r.Mode != m.name || r.From+r.To != d || r.FipGap == 0 {
					continue
				}
				ewl, fl = append(ewl, float64(r.Lost)), append(fl, float64(r.FipLost))
				ewg, fg = append(ewg, float64(r.Gap)/1e6), append(fg, float64(r.FipGap)/1e6)
				diff = append(diff, float64(r.FipDiff)/1e6)
			}
			if len(diff) == 0 {
				continue
			}
			s.EWLost, s.Lost, s.EWGap, s.Gap, s.Diff = stats(ewl), stats(fl), stats(ewg), stats(fg), stats(diff)
			s.Met = s.Diff.Median <= float64(targetFIP)/1e6
			if len(out) == 0 {
				fmt.Fprintf(w, "\nFloating IP vs east-west, the same migrations: the outside pinging the VM's floating IP and the\n")
				fmt.Fprintf(w, "container on host B pinging its own address, both every 10 ms (values: median [min-max]); fip gap: the\n")
				fmt.Fprintf(w, "longest the outside saw, e/w gap: the one across the switchover\n\n")
				fmt.Fprintf(w, row, "dir", "mode", "e/w lost", "fip lost", "e/w gap ms", "fip gap ms", "fip - e/w ms", "target: within 10 ms")
			}
			out = append(out, s)
			fmt.Fprintf(w, row, s.Dir, m.name, s.EWLost.cell(), s.Lost.cell(), s.EWGap.cell(), s.Gap.cell(), signed(s.Diff), metStr(s.Met))
		}
	}
	if len(out) > 0 {
		fmt.Fprintf(w, "\nThe floating IP is distributed (both hosts map physnet1): after the switchover the destination answers it\n")
		fmt.Fprintf(w, "and the outside's bridge learns its MAC there.\n")
	}
	return out
}

// signed is a stat cell with signs (differences).
func signed(s stat) string {
	if s.N == 1 || s.Min == s.Max {
		return fmt.Sprintf("%+.0f", s.Median)
	}
	return fmt.Sprintf("%+.0f [%+.0f..%+.0f]", s.Median, s.Min, s.Max)
}
