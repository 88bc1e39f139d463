package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// fakeAPI is a named fake of the console's JSON API for the page-only
// tests: the page (dist/, served as the daemon serves it, CSRF placeholder
// replaced) against generated state in the API's protojson, with the
// daemon's own rule parser behind the rule writes. The real daemon is
// tested by the browser tests against the sandbox.
type fakeAPI struct {
	mu      sync.Mutex
	nets    []*api.Network
	routers []*api.Router
	ports   []*api.Port
	lbs     []*api.LoadBalancer
	fips    []*api.FloatingIP
	sgs     map[string]*api.SecurityGroup
	later   []*api.Event // sent on the stream after synced
	writes  []string     // "METHOD path" of accepted writes
	// hold closes each stream that long after its last event (0: kept
	// open): headless chromium's virtual time waits for open requests.
	hold time.Duration
	down bool // the stream answers 503: the page falls back to polling
	// push, when set, carries events sent on the stream after later, as
	// a test sends them (the stream then stays open).
	push chan *api.Event
}

const fakeToken = "tok-123"

var pj = protojson.MarshalOptions{UseProtoNames: true}

// newFake makes nets networks with ports ports each behind one router with
// a gateway on an external network, one load balancer, one group; the last
// port of the first network is migrating.
func newFake(nets, ports int) *fakeAPI {
	f := &fakeAPI{sgs: map[string]*api.SecurityGroup{}}
	ext := &api.Network{Name: "public", External: true, Subnet4: "203.0.113.0/24", FipRange: "203.0.113.10-203.0.113.99"}
	f.nets = append(f.nets, ext)
	r := &api.Router{Name: "edge", Gateway: &api.RouterGatewayInfo{Network: "public", Addresses: []string{"203.0.113.2"},
		Chassis: []*api.GatewayChassis{{Name: "host-a", Priority: 2}}, ActiveChassis: "host-a"}}
	f.routers = append(f.routers, r)
	for n := 0; n < nets; n++ {
		name := fmt.Sprintf("net%d", n)
		f.nets = append(f.nets, &api.Network{Name: name, Subnet4: fmt.Sprintf("10.%d.0.0/24", n), Ports: uint32(ports)})
		r.Networks = append(r.Networks, name)
		for p := 0; p < ports; p++ {
			port := &api.Port{Name: fmt.Sprintf("%s-p%d", name, p), Network: name, Kind: "container", Up: p%7 != 3,
				Chassis: []string{"host-a", "host-b"}[p%2], Mac: fmt.Sprintf("0a:00:00:00:%02x:%02x", n, p),
				Addresses: []string{fmt.Sprintf("10.%d.0.%d", n, p+10)}}
			if p%5 == 0 {
				port.Kind, port.Vm = "vm", "dom-"+port.Name
			}
			f.ports = append(f.ports, port)
		}
	}
	if len(f.ports) > 0 {
		m := f.ports[ports-1]
		m.Kind, m.Chassis, m.Migration = "vm", "host-a,host-b", "host-a -> host-b"
	}
	f.lbs = append(f.lbs, &api.LoadBalancer{Name: "web-lb", Network: "net0", Vip: "10.0.0.250",
		Listeners: []*api.Listener{{Port: 80, MemberPort: 8080}}, Members: []*api.Member{{Port: "net0-p0", Enabled: true, Health: "online"}}})
	f.fips = append(f.fips, &api.FloatingIP{Address: "203.0.113.10", Network: "public", Port: "net0-p0", FixedIp: "10.0.0.10", Router: "edge"})
	f.sgs["web"] = &api.SecurityGroup{Name: "web", Ports: []string{"net0-p0"}}
	f.ports[0].SecurityGroups = []string{"web"}
	f.ports[0].DnsName = "net0-p0.lab.example"
	_ = f.addRules("web", []string{"ingress tcp 80"}, "")
	return f
}

func (f *fakeAPI) addRules(group string, specs []string, preset string) error {
	g := f.sgs[group]
	if g == nil {
		return fmt.Errorf("security group %s not found", group)
	}
	var rules []secgroup.Rule
	if preset != "" {
		rs, err := secgroup.Preset(preset)
		if err != nil {
			return err
		}
		rules = rs
	}
	for _, s := range specs {
		r, err := secgroup.ParseRule(s)
		if err != nil {
			return err
		}
		rules = append(rules, r)
	}
	for _, r := range rules {
		g.Rules = append(g.Rules, &api.SecurityGroupRule{Id: r.ID(), Spec: r.String()})
	}
	return nil
}

func raw(m proto.Message) json.RawMessage {
	b, err := pj.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func raws[T proto.Message](list []T) []json.RawMessage {
	out := []json.RawMessage{}
	for _, m := range list {
		out = append(out, raw(m))
	}
	return out
}

func (f *fakeAPI) state() map[string]any {
	var sgs []*api.SecurityGroup
	for _, g := range f.sgs {
		sgs = append(sgs, g)
	}
	return map[string]any{"networks": raws(f.nets), "routers": raws(f.routers), "ports": raws(f.ports),
		"load_balancers": raws(f.lbs), "floating_ips": raws(f.fips), "security_groups": raws(sgs), "chassis": "host-a"}
}

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(FS, "dist")
	assets := http.FileServer(http.FS(sub))
	mux.Handle("GET /console/assets/", http.StripPrefix("/console/", assets))
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, _ *http.Request) {
		b, _ := fs.ReadFile(FS, "dist/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'")
		_, _ = w.Write([]byte(strings.ReplaceAll(string(b), "__QN_CSRF__", fakeToken)))
	})
	mux.HandleFunc("GET /console/api/state", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, 200, f.state())
	})
	mux.HandleFunc("GET /console/api/security-groups", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, 200, f.state()["security_groups"])
	})
	mux.HandleFunc("GET /console/api/presets", func(w http.ResponseWriter, _ *http.Request) {
		var out []map[string]any
		for _, n := range secgroup.Presets() {
			rs, _ := secgroup.Preset(n)
			var specs []string
			for _, r := range rs {
				specs = append(specs, r.String())
			}
			out = append(out, map[string]any{"name": n, "rules": specs})
		}
		reply(w, 200, out)
	})
	mux.HandleFunc("GET /console/api/events", f.events)
	f.writeRoutes(mux)
	return mux
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) events(w http.ResponseWriter, r *http.Request) {
	if f.down {
		reply(w, 503, map[string]string{"error": "stream unavailable"})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 100000\n\n")
	send := func(ev *api.Event) {
		fmt.Fprintf(w, "data: %s\n\n", raw(ev))
	}
	f.mu.Lock()
	for _, p := range f.ports {
		send(&api.Event{Type: "snapshot", Kind: "port", Name: p.Name, Port: p})
	}
	for _, n := range f.nets {
		send(&api.Event{Type: "snapshot", Kind: "network", Name: n.Name, Network: n})
	}
	for _, x := range f.routers {
		send(&api.Event{Type: "snapshot", Kind: "router", Name: x.Name, Router: x})
	}
	for _, x := range f.lbs {
		send(&api.Event{Type: "snapshot", Kind: "load_balancer", Name: x.Name, LoadBalancer: x})
	}
	for _, x := range f.fips {
		send(&api.Event{Type: "snapshot", Kind: "floating_ip", Name: x.Address, FloatingIp: x})
	}
	send(&api.Event{Type: "synced"})
	later := f.later
	f.mu.Unlock()
	w.(http.Flusher).Flush()
	for _, ev := range later {
		if ev.Type != "snapshot" && ev.Type != "synced" {
			time.Sleep(100 * time.Millisecond) // one change at a time, after the page drew
		}
		send(ev)
		w.(http.Flusher).Flush()
	}
	if f.hold > 0 {
		time.Sleep(f.hold)
		return
	}
	for {
		select {
		case ev := <-f.push: // a nil channel never sends
			send(ev)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		}
	}
}
