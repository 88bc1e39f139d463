package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/attach"
	"github.com/quantumnet/quantumnet/daemon/config"
	"github.com/quantumnet/quantumnet/daemon/console"
	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/httpapi"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// env is a real daemon stack (Northbound, Southbound, the stores, the
// event feed, the gRPC service) behind a real HTTP listener with the
// console mounted.
type env struct {
	t        *testing.T
	s        *stacktest.Stack
	srv      *server.Server
	hub      *events.Hub
	con      *console.Console
	base     string
	stopFeed context.CancelFunc
	stopCon  context.CancelFunc // the daemon stops (Options.Done)
}

func newEnv(t *testing.T, token string) *env {
	t.Helper()
	log := ovsdbtest.Logger(t)
	s := stacktest.New(t, true)
	sgm := &sgstore.Manager{NB: s.NB, Log: log}
	routers := &rtstore.Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, MACPrefix: stacktest.MACPrefix, Log: log}
	s.Wire(nil, routers)
	s.Ports.Groups = sgm
	feedCtx, stopFeed := context.WithCancel(s.Ctx)
	t.Cleanup(stopFeed)
	hub := events.New(0)
	go (&events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Routers: routers, Interval: time.Hour, Log: log}).Run(feedCtx)
	srv := &server.Server{Attach: &attach.Manager{NB: s.NB, SB: s.SB, Chassis: "chassis-1", Log: log}, Alloc: s.Alloc, SG: sgm,
		Svc: s.Svc, Networks: s.Nets, Routers: routers, Events: hub, Log: log}
	cfg := config.HTTP{Listen: "127.0.0.1:0", Console: true}
	if token != "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(cfg.TokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h, err := httpapi.New(cfg, func(context.Context) (bool, []string) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	done, stopCon := context.WithCancel(s.Ctx)
	t.Cleanup(stopCon)
	opts := console.Options{Server: srv, Chassis: "chassis-1", Done: done, LoopbackHosts: token == "", Log: log}
	if h.HasToken() {
		opts.TokenMatches = h.TokenMatches
	}
	con, err := console.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	con.Mount(h.Handle)
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.ServeOn(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &env{t: t, s: s, srv: srv, hub: hub, con: con, base: "http://" + l.Addr().String(), stopFeed: stopFeed, stopCon: stopCon}
}

// do sends a request (body JSON unless ""), with the CSRF header when csrf
// and the extra headers, and returns the status, headers and body.
func (e *env) do(method, path, body string, csrf bool, hdr ...string) (int, http.Header, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if csrf {
		req.Header.Set(console.CSRFHeader, e.con.CSRF())
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// group is the security group as the store has it.
func (e *env) group(name string) *api.SecurityGroup {
	e.t.Helper()
	g, err := e.srv.GetSecurityGroup(context.Background(), &api.SecurityGroupRef{Name: name})
	if err != nil {
		e.t.Fatalf("group %s: %v", name, err)
	}
	return g
}

func specs(g *api.SecurityGroup) string {
	var out []string
	for _, r := range g.Rules {
		out = append(out, r.Spec)
	}
	return strings.Join(out, "; ")
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Error == "" {
		t.Fatalf("body %q is not {\"error\": ...}: %v", body, err)
	}
	return v.Error
}

// TestIntegrationConsolePageAndState: the page carries the CSRF token and
// the security headers; the state has the network and port created, in
// protojson with the proto's snake_case names; the presets are the
// daemon's.
func TestIntegrationConsolePageAndState(t *testing.T) {
	e := newEnv(t, "")
	e.s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	e.s.Port("p1", "blue", "chassis-1")

	code, hdr, body := e.do("GET", "/console/", "", false)
	if code != 200 || !strings.Contains(body, `content="`+e.con.CSRF()+`"`) || strings.Contains(body, console.Placeholder) {
		t.Fatalf("GET /console/: %d %q, want the page with the CSRF token", code, body)
	}
	for k, want := range map[string]string{"Content-Security-Policy": console.CSP, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer"} {
		if hdr.Get(k) != want {
			t.Errorf("page header %s: %q, want %q", k, hdr.Get(k), want)
		}
	}
	if code, hdr, _ := e.do("GET", "/console/assets/app.js", "", false); code != 200 || hdr.Get("Content-Security-Policy") != console.CSP {
		t.Errorf("GET app.js: %d, CSP %q", code, hdr.Get("Content-Security-Policy"))
	}

	code, hdr, body = e.do("GET", "/console/api/state", "", false)
	if code != 200 || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("state: %d (cache-control %q) %s", code, hdr.Get("Cache-Control"), body)
	}
	var st struct {
		Networks, Ports, Routers, FloatingIPs, LBs, Groups []map[string]any
		Chassis                                            string
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for key, dst := range map[string]any{"networks": &st.Networks, "ports": &st.Ports, "routers": &st.Routers,
		"floating_ips": &st.FloatingIPs, "load_balancers": &st.LBs, "security_groups": &st.Groups, "chassis": &st.Chassis} {
		if err := json.Unmarshal(raw[key], dst); err != nil {
			t.Errorf("state[%q]: %v in %s", key, err, body)
		}
	}
	if len(st.Networks) != 1 || st.Networks[0]["name"] != "blue" || st.Networks[0]["subnet4"] != "10.1.0.0/24" {
		t.Errorf("state networks: %v", st.Networks)
	}
	if len(st.Ports) != 1 || st.Ports[0]["name"] != "p1" || st.Ports[0]["network"] != "blue" {
		t.Fatalf("state ports: %v", st.Ports)
	}
	if _, ok := st.Ports[0]["security_groups"]; !ok || strings.Contains(body, "securityGroups") {
		t.Errorf("port not in snake_case protojson: %v", st.Ports[0])
	}
	if st.Chassis != "chassis-1" || st.Routers == nil || st.LBs == nil {
		t.Errorf("state chassis %q routers %v load balancers %v", st.Chassis, st.Routers, st.LBs)
	}

	code, _, body = e.do("GET", "/console/api/presets", "", false)
	var presets []struct {
		Name  string
		Rules []string
	}
	if err := json.Unmarshal([]byte(body), &presets); code != 200 || err != nil || len(presets) != 6 || presets[0].Name != "web" ||
		len(presets[1].Rules) != 2 || presets[1].Rules[0] != "ingress ipv4 tcp 22" {
		t.Errorf("presets: %d %s (%v)", code, body, err)
	}
	if code, _, body := e.do("GET", "/console/api/nope", "", false); code != 404 || errorOf(t, body) == "" {
		t.Errorf("unknown API: %d %s", code, body)
	}
}
