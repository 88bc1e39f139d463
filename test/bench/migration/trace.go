package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// A timeline of what happens to the VM during a migration, for the
// per-migration detail and the JSON: libvirt lifecycle events of both
// hosts (`virsh event --loop --timestamp`), and every change of the VM's
// logical port in NB and of its Port_Binding in SB (libovsdb monitors,
// timestamped on arrival).

type traceEvent struct {
	At   time.Time `json:"at"`
	Src  string    `json:"src"` // libvirt-a, libvirt-b, nb, sb
	What string    `json:"what"`
	// Parsed fields.
	dom      string
	downtime time.Duration // job-completed events: downtime reported with them
}

type tracer struct {
	mu     sync.Mutex
	events []traceEvent
	port   string // the logical port followed in NB/SB ("" none)
	lastNB string
	lastSB string
	chas   map[string]string // SB Chassis _uuid -> name

	procs []*exec.Cmd
	nb    *ovs.Conn
	sb    *ovs.Conn
	stop  context.CancelFunc
}

func (t *tracer) add(e traceEvent) {
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

func (t *tracer) setPort(p string) {
	t.mu.Lock()
	t.port, t.lastNB, t.lastSB = p, "", ""
	t.mu.Unlock()
}

// window returns the events in [from, to], in time order.
func (t *tracer) window(from, to time.Time) []traceEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []traceEvent
	for _, e := range t.events {
		if !e.At.Before(from) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

var (
	lvEventRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): event '([^']+)' for domain '([^']+)':?\s*(.*)$`)
	lvStatRE  = regexp.MustCompile(`^\s+(\w+): (\d+)$`)
)

// startLibvirt follows one host's libvirt events until stop.
func (t *tracer) startLibvirt(uri, host string) error {
	cmd := exec.Command("virsh", "-c", uri, "event", "--all", "--loop", "--timestamp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	t.procs = append(t.procs, cmd)
	go t.readLibvirt(out, "libvirt-"+host)
	return nil
}

func (t *tracer) readLibvirt(r io.Reader, src string) {
	sc := bufio.NewScanner(r)
	var job *traceEvent // a job-completed event waiting for its downtime line
	for sc.Scan() {
		l := sc.Text()
		if m := lvStatRE.FindStringSubmatch(l); m != nil {
			// The statistics of a job-completed event, one per line;
			// the event is recorded at its downtime line (nothing may
			// follow the block for a long time).
			if job != nil && m[1] == "downtime" {
				n, _ := strconv.Atoi(m[2])
				job.downtime = time.Duration(n) * time.Millisecond
				job.What += " downtime=" + m[2] + "ms"
				t.add(*job)
				job = nil
			}
			continue
		}
		if job != nil { // no downtime in its statistics
			t.add(*job)
			job = nil
		}
		m := lvEventRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05.000-0700", m[1])
		if err != nil {
			continue
		}
		e := traceEvent{At: at, Src: src, dom: m[3], What: m[2] + " " + m[3] + ": " + m[4]}
		switch m[2] {
		case "job-completed":
			e.What = "job-completed " + m[3]
			job = &e
		case "lifecycle", "migration-iteration":
			t.add(e)
		}
	}
}

// startOVN monitors NB Logical_Switch_Port and SB Port_Binding/Chassis.
func (t *tracer) startOVN(nbRemote, sbRemote string) error {
	ctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	t.chas = map[string]string{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	nbm, err := nbdb.FullDatabaseModel()
	if err != nil {
		return err
	}
	t.nb, err = ovs.Dial(ctx, nbm, ovs.DialConfig{
		Name: "nb", Remotes: []string{nbRemote}, Logger: quiet,
		Tables: []model.Model{&nbdb.LogicalSwitchPort{}},
		OnCache: func(tc *cache.TableCache) {
			tc.AddEventHandler(&cache.EventHandlerFuncs{
				AddFunc:    func(_ string, m model.Model) { t.onNB(m) },
				UpdateFunc: func(_ string, _, m model.Model) { t.onNB(m) },
			})
		},
	})
	if err != nil {
		return err
	}
	sbm, err := sbdb.FullDatabaseModel()
	if err != nil {
		return err
	}
	t.sb, err = ovs.Dial(ctx, sbm, ovs.DialConfig{
		Name: "sb", Remotes: []string{sbRemote}, Logger: quiet,
		Tables: []model.Model{&sbdb.Chassis{}, &sbdb.PortBinding{}},
		OnCache: func(tc *cache.TableCache) {
			tc.AddEventHandler(&cache.EventHandlerFuncs{
				AddFunc:    func(_ string, m model.Model) { t.onSB(m) },
				UpdateFunc: func(_ string, _, m model.Model) { t.onSB(m) },
			})
		},
	})
	if err != nil {
		return err
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := t.nb.WaitConnected(wctx); err != nil {
		return err
	}
	return t.sb.WaitConnected(wctx)
}

func (t *tracer) onNB(m model.Model) {
	p, ok := m.(*nbdb.LogicalSwitchPort)
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.Name != t.port || t.port == "" {
		return
	}
	s := fmt.Sprintf("requested-chassis=%s", p.Options["requested-chassis"])
	if a := p.Options["activation-strategy"]; a != "" {
		s += " activation-strategy=" + a
	}
	if to := p.ExternalIDs["quantumnet:migration-to"]; to != "" {
		s += " migration=" + p.ExternalIDs["quantumnet:migration-from"] + "->" + to
	}
	if s != t.lastNB {
		t.lastNB = s
		t.events = append(t.events, traceEvent{At: now, Src: "nb", What: s})
	}
}

func (t *tracer) onSB(m model.Model) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r := m.(type) {
	case *sbdb.Chassis:
		t.chas[r.UUID] = r.Name
	case *sbdb.PortBinding:
		if r.LogicalPort != t.port || t.port == "" {
			return
		}
		ch := "-"
		if r.Chassis != nil {
			ch = t.chas[*r.Chassis]
		}
		var add []string
		for _, u := range r.AdditionalChassis {
			add = append(add, t.chas[u])
		}
		s := "chassis=" + ch
		if len(add) > 0 {
			s += " additional=" + strings.Join(add, ",")
		}
		if a := r.Options["additional-chassis-activated"]; a != "" {
			s += " activated=" + a
		}
		if r.Up != nil && *r.Up {
			s += " up"
		}
		if s != t.lastSB {
			t.lastSB = s
			t.events = append(t.events, traceEvent{At: now, Src: "sb", What: s})
		}
	}
}

func (t *tracer) close() {
	for _, p := range t.procs {
		p.Process.Kill()
		p.Wait()
	}
	t.procs = nil
	if t.stop != nil {
		t.stop()
	}
	if t.nb != nil {
		t.nb.Close()
		t.nb = nil
	}
	if t.sb != nil {
		t.sb.Close()
		t.sb = nil
	}
}
