package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/test/harness"
)

// restart is one daemon restart.
type restart struct {
	Ports       int     `json:"ports"`        // local attachments
	Remote      int     `json:"remote_ports"` // Northbound ports of other chassis
	StopMs      float64 `json:"stop_ms"`      // SIGTERM to exit
	ReadyMs     float64 `json:"ready_ms"`     // process start to ready (qnetctl status)
	RSSKB       int64   `json:"vmrss_kb"`     // when ready
	Streams     int     `json:"ping_streams"`
	Sent        int     `json:"pings_sent"`
	Lost        int     `json:"pings_lost"`
	StreamError string  `json:"stream_error,omitempty"`
}

// memory is quantumnetd's memory at a point.
type memory struct {
	What   string `json:"what"`
	Ports  int    `json:"ports"`
	Remote int    `json:"remote_ports"`
	RSSKB  int64  `json:"vmrss_kb"`
	HWMKB  int64  `json:"vmhwm_kb"`
}

func (b *bench) memory(what string, remote int) memory {
	m := memory{What: what, Ports: b.count(), Remote: remote}
	if st, err := harness.ProcStatus(b.D.Pid()); err == nil {
		m.RSSKB, m.HWMKB = st["VmRSS"], st["VmHWM"]
	}
	return m
}

func (b *bench) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.atts)
}

// pingStream is ping from ns to an address every 10 ms until stopped.
type pingStream struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func startPing(ns string, to netip.Addr) (*pingStream, error) {
	p := &pingStream{cmd: exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-i", "0.01", "-W", "1", to.String())}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	return p, p.cmd.Start()
}

var replySeq = regexp.MustCompile(`icmp_seq=(\d+) ttl=`)

// stop ends the stream (SIGINT) and counts what was sent and what went
// unanswered, leaving out the last 50 sent (500 ms: in flight when it
// stopped, not lost).
func (p *pingStream) stop() (sent, lost int, err error) {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	_ = p.cmd.Wait()
	m := regexp.MustCompile(`(\d+) packets transmitted`).FindSubmatch(p.out.Bytes())
	if m == nil {
		return 0, 0, fmt.Errorf("ping: %s", harness.Tail(p.out.String(), 3))
	}
	sent, _ = strconv.Atoi(string(m[1]))
	got := map[int]bool{}
	for _, r := range replySeq.FindAllSubmatch(p.out.Bytes(), -1) {
		n, _ := strconv.Atoi(string(r[1]))
		got[n] = true
	}
	sent -= 50
	for seq := 1; seq <= sent; seq++ {
		if !got[seq] {
			lost++
		}
	}
	return max(sent, 0), lost, nil
}

// restartWithPings restarts quantumnetd while -pairs ping streams run
// between existing containers, and measures the restart and the loss.
func (b *bench) restartWithPings(ctx context.Context, remote int) (*restart, error) {
	r := &restart{Ports: b.count(), Remote: remote, Streams: *flagPairs}
	pairs := b.atts[:2**flagPairs]
	for i := 0; i < len(pairs); i += 2 {
		if err := harness.Ping(pairs[i].ns, pairs[i+1].ip.String()); err != nil {
			return nil, fmt.Errorf("before the restart: %w", err)
		}
	}
	logf("restart with %d ports (%d remote), %d ping streams every 10 ms", r.Ports, remote, *flagPairs)
	var streams []*pingStream
	defer func() { // on a failure half-way
		for _, p := range streams {
			_, _, _ = p.stop()
		}
	}()
	for i := 0; i < len(pairs); i += 2 {
		p, err := startPing(pairs[i].ns, pairs[i+1].ip)
		if err != nil {
			return nil, err
		}
		streams = append(streams, p)
	}
	time.Sleep(time.Second) // the streams run before the restart, too
	stopPerf := b.perf(fmt.Sprintf("restart-%d-%d", r.Ports, remote), 0)
	t0 := time.Now()
	b.D.Stop()
	t1 := time.Now()
	err := b.D.Start()
	if err == nil {
		err = b.D.WaitReady(60 * time.Second)
	}
	t2 := time.Now()
	stopPerf()
	r.StopMs, r.ReadyMs = ms(t1.Sub(t0)), ms(t2.Sub(t1))
	if st, serr := harness.ProcStatus(b.D.Pid()); serr == nil {
		r.RSSKB = st["VmRSS"]
	}
	time.Sleep(2 * time.Second) // and after it
	for _, p := range streams {
		s, l, perr := p.stop()
		r.Sent += s
		r.Lost += l
		if perr != nil && r.StreamError == "" {
			r.StreamError = perr.Error()
		}
	}
	streams = nil
	if err != nil {
		return r, err
	}
	return r, ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// addRemote inserts n container ports of other chassis into Northbound,
// spread over -remote-networks networks made by qnetctl: real rows built
// by pkg/ovn (Port.Row, CreatePort), 16 transactions in flight.
func (b *bench) addRemote(ctx context.Context, n int) (time.Duration, error) {
	nets := *flagRemoteNs
	per := (n + nets - 1) / nets
	if per > 60000 {
		return 0, fmt.Errorf("-remote %d over %d networks: more than a /16 each", n, nets)
	}
	logf("inserting %d Northbound ports of 8 other chassis over %d networks", n, nets)
	t0 := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	sem := make(chan struct{}, 16)
	for k := range nets {
		name := fmt.Sprintf("remote%d", k)
		if err := b.Qn("network", "create", name, "--subnet4", fmt.Sprintf("10.%d.0.0/16", 130+k)); err != nil {
			return 0, err
		}
		ls, err := b.nb.GetSwitch(name)
		if err != nil {
			return 0, err
		}
		for i := range min(per, n-k*per) {
			j := i + 10
			p := ovn.Port{Name: fmt.Sprintf("remote-%d-%d-%d", b.Pid, k, i), Network: name, Kind: keys.KindContainer,
				ContainerID: fmt.Sprintf("remote-%d-%d", k, i), Ifname: "eth0", CNINetwork: name, Chassis: fmt.Sprintf("other-%d", i%8),
				MAC: net.HardwareAddr{0x0a, 0x58, 10, byte(130 + k), byte(j >> 8), byte(j)},
				IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(130 + k), byte(j >> 8), byte(j)})}}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := b.nb.CreatePort(ctx, ls, p.Row()); err != nil {
					select {
					case errc <- fmt.Errorf("remote port %s: %w", p.Name, err):
					default:
					}
				}
			}()
			if len(errc) > 0 {
				break
			}
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return time.Since(t0), nil
}
