package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/quantumnet/quantumnet/test/harness"
)

// class is one kind of query: its dnsperf input and whether dnsperf sends
// EDNS (plain queries for the network's names never reach either server:
// OVN native DNS answers them on the way, see the "plain" class).
type class struct {
	Name string
	file string
	edns bool
}

// result is one dnsperf run.
type result struct {
	Class     string         `json:"class"`
	Contender string         `json:"contender"`
	Mode      string         `json:"mode"` // "saturation" (-q outstanding) or "rate" (-Q)
	QPS       float64        `json:"qps"`  // answers per second, every rcode
	Sent      int            `json:"sent"`
	Lost      int            `json:"lost"`
	Rcodes    map[string]int `json:"rcodes"`
	P50       float64        `json:"p50_ms"`
	P99       float64        `json:"p99_ms"`
	CPU       float64        `json:"server_cpu_us_per_query"` // the server process's CPU time / answers
}

// good is the share of sent queries answered NOERROR (every query of
// every class has an answer).
func (r *result) good() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Rcodes["NOERROR"]) / float64(r.Sent)
}

// queryFiles writes the dnsperf inputs, each shuffled.
func (b *bench) queryFiles() ([]class, error) {
	dir := filepath.Join(b.H.Tmp, "dns")
	var a, ptr, fwd []string
	for _, p := range b.ports {
		a = append(a, p.Name+"."+domain+" A")
		rev, _ := dns.ReverseAddr(p.IP.String())
		ptr = append(ptr, strings.TrimSuffix(rev, ".")+" PTR")
	}
	for i := range *flagFwd {
		fwd = append(fwd, fmt.Sprintf("f%d.%s A", i, fwdZone))
	}
	classes := []class{{Name: "local A", edns: true}, {Name: "local PTR", edns: true}, {Name: "forwarded", edns: true},
		{Name: "local A, plain (OVN native DNS)"}}
	for i, lines := range [][]string{a, ptr, fwd, a} {
		lines = append([]string(nil), lines...)
		rand.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
		classes[i].file = filepath.Join(dir, fmt.Sprintf("queries-%d", i))
		if err := os.WriteFile(classes[i].file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return classes, nil
}

// dnsperf runs dnsperf from the client against server for -l seconds:
// -q outstanding queries, or rate queries per second when rate > 0.
func (b *bench) dnsperf(ctx context.Context, c class, server string, rate int) (*result, error) {
	args := []string{"netns", "exec", b.client, "dnsperf", "-s", server, "-d", c.file, "-l", strconv.Itoa(*flagSeconds),
		"-t", "2", "-v", "-q", strconv.Itoa(*flagOut)}
	if c.edns {
		args = append(args, "-e")
	}
	mode := "saturation"
	if rate > 0 {
		args = append(args, "-Q", strconv.Itoa(rate))
		mode = "rate"
	}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(*flagSeconds+30)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	pid := b.serverPid(server)
	cpu0, _ := cpuTime(pid)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &result{Class: c.Name, Contender: b.contender(server), Mode: mode, Rcodes: map[string]int{}}
	var lat []time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 5 && f[0] == ">":
			if s, err := strconv.ParseFloat(f[4], 64); err == nil {
				r.Rcodes[f[1]]++
				lat = append(lat, time.Duration(s*1e9))
			}
		case strings.HasPrefix(strings.TrimSpace(line), "Queries sent:"):
			r.Sent, _ = strconv.Atoi(f[2])
		case strings.HasPrefix(strings.TrimSpace(line), "Queries lost:"):
			r.Lost, _ = strconv.Atoi(f[2])
		case strings.HasPrefix(strings.TrimSpace(line), "Queries per second:"):
			r.QPS, _ = strconv.ParseFloat(f[3], 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("dnsperf %s against %s: %v\n%s", c.Name, server, err, harness.Tail(stderr.String(), 10))
	}
	if r.Sent == 0 {
		return nil, fmt.Errorf("dnsperf %s against %s: no statistics\n%s", c.Name, server, harness.Tail(stderr.String(), 10))
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	if len(lat) > 0 {
		r.CPU = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(len(lat))
	}
	_, r.P50, r.P99, _ = harness.Percentiles(lat)
	return r, nil
}

// row is one query class and mode, both contenders: the medians of the
// rounds.
type row struct {
	Class string    `json:"class"`
	Mode  string    `json:"mode"`
	QN    []*result `json:"quantumnet"`
	DMQ   []*result `json:"dnsmasq"`
}

// measure runs every class, mode and contender -rounds times, interleaved
// (round by round, the contenders alternating which goes first).
func (b *bench) measure(ctx context.Context) (*results, error) {
	classes, err := b.queryFiles()
	if err != nil {
		return nil, err
	}
	rep := &results{Ports: len(b.ports), Seconds: *flagSeconds, Outstanding: *flagOut, Rate: *flagRate, Rounds: *flagRounds,
		OVNNative: b.ovnNative()}
	rows := map[string]*row{}
	for round := range *flagRounds {
		for _, c := range classes {
			for _, rate := range []int{0, *flagRate} {
				servers := []string{b.resolver, b.dmqIP}
				if round%2 == 1 {
					servers[0], servers[1] = servers[1], servers[0]
				}
				for _, s := range servers {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					r, err := b.dnsperf(ctx, c, s, rate)
					if err != nil {
						return nil, err
					}
					logf("round %d: %-32s %-10s %-10s %8.0f q/s  p99 %7.2f ms  %v lost %d", round+1, c.Name, r.Mode, r.Contender, r.QPS, r.P99, r.Rcodes, r.Lost)
					key := c.Name + "/" + r.Mode
					if rows[key] == nil {
						rows[key] = &row{Class: c.Name, Mode: r.Mode}
						rep.Rows = append(rep.Rows, rows[key])
					}
					if s == b.resolver {
						rows[key].QN = append(rows[key].QN, r)
					} else {
						rows[key].DMQ = append(rows[key].DMQ, r)
					}
				}
			}
		}
	}
	return rep, nil
}

// median of f over rs.
func median(rs []*result, f func(*result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// serverPid is the process answering at addr: quantumnetd or dnsmasq.
func (b *bench) serverPid(addr string) int {
	if addr == b.resolver {
		return b.D.Pid()
	}
	return b.servers[len(b.servers)-1].cmd.Process.Pid // the contender, started last
}

// cpuTime is the user + system CPU time of process pid (all its threads).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command (in parentheses, which may hold spaces).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100
