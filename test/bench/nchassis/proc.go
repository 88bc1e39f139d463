package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

// cpuTicks is a process' user+system CPU time in ticks, -1 if unknown.
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: fields count after ")".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// machineTicks is the machine's busy and total CPU ticks (/proc/stat).
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// usage is what one process used during a phase.
type usage struct {
	CPUSeconds float64 `json:"cpu_s"`
	PeakRSSKB  int64   `json:"peak_rss_kb"` // sampled every 100 ms
	HWMKB      int64   `json:"vmhwm_kb"`    // the process' lifetime peak
}

// meter follows processes through a phase: CPU time at start and end,
// RSS sampled.
type meter struct {
	pids     map[string]int
	start    map[string]int64
	peak     map[string]int64
	mu       sync.Mutex
	stop     chan struct{}
	done     chan struct{}
	busy0    int64
	total0   int64
	began    time.Time
	Busy     float64 // the machine's CPU busy share over the phase, 0-1
	Duration time.Duration
}

// startMeter starts following pids (by name).
func startMeter(pids map[string]int) *meter {
	m := &meter{pids: pids, start: map[string]int64{}, peak: map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	for name, pid := range pids {
		m.start[name] = cpuTicks(pid)
	}
	m.busy0, m.total0 = machineTicks()
	m.began = time.Now()
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *meter) sample() {
	for name, pid := range m.pids {
		if st, err := harness.ProcStatus(pid); err == nil {
			m.mu.Lock()
			m.peak[name] = max(m.peak[name], st["VmRSS"])
			m.mu.Unlock()
		}
	}
}

// end stops following and returns each process' usage.
func (m *meter) end() map[string]usage {
	close(m.stop)
	<-m.done
	m.Duration = time.Since(m.began)
	busy, total := machineTicks()
	if total > m.total0 {
		m.Busy = float64(busy-m.busy0) / float64(total-m.total0)
	}
	out := map[string]usage{}
	for name, pid := range m.pids {
		u := usage{PeakRSSKB: m.peak[name]}
		if t := cpuTicks(pid); t >= 0 && m.start[name] >= 0 {
			u.CPUSeconds = float64(t-m.start[name]) / clockTicks
		}
		if st, err := harness.ProcStatus(pid); err == nil {
			u.HWMKB = st["VmHWM"]
		}
		out[name] = u
	}
	return out
}
