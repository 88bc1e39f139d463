package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestDist checks what the daemon embeds: the CSRF placeholder, the assets
// at the paths the server serves, the DOM contract's ids, and no address
// outside the page's origin.
func TestDist(t *testing.T) {
	index, err := fs.ReadFile(FS, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(index)
	for _, want := range []string{`<meta name="qn-csrf" content="__QN_CSRF__">`, `src="/console/assets/app.js"`, `href="/console/assets/app.css"`} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	js, err := fs.ReadFile(FS, "dist/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	all := page + string(js)
	for _, id := range []string{"status", "tab-topology", "tab-sg", "view-topology", "view-sg", "topology", "zoom-in", "zoom-out",
		"zoom-reset", "legend", "filter-network", "filter-chassis", "filter-kind", "filter-text", "detail", "detail-groups",
		"detail-groups-save", "detail-error", "sg-list", "sg-new-name", "sg-create", "sg-rules", "rule-form", "rule-text",
		"rule-add", "rule-error", "sg-members"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("index.html lacks #%s", id)
		}
	}
	css, _ := fs.ReadFile(FS, "dist/assets/app.css")
	external := regexp.MustCompile(`(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, m := range external.FindAllString(all+string(css), -1) {
		if m != "http://www.w3.org" { // the SVG namespace, an identifier, never fetched
			t.Errorf("an address outside the page's origin: %s", m)
		}
	}
}

// chromium finds Debian's browser, or skips.
func chromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("no chromium: apt-get install chromium")
	return ""
}

// dumpDOM loads url in headless chromium and returns the DOM after the
// page's script ran (a virtual time budget, not a sleep). With
// $CONSOLE_SCREENSHOT=DIR it also saves screenshots at 1280x800 and 420x900.
func dumpDOM(t *testing.T, url string, budget string) string {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=" + budget, "--dump-dom", url}
	if dir := os.Getenv("CONSOLE_SCREENSHOT"); dir != "" {
		for _, size := range []string{"1280,800", "420,900"} {
			png := filepath.Join(dir, t.Name()+"-"+strings.Replace(size, ",", "x", 1)+".png")
			shot := append(slices.Clone(args[:len(args)-2]), "--window-size="+size, "--screenshot="+png, url)
			if out, err := exec.Command(chromium(t), shot...).CombinedOutput(); err != nil {
				t.Logf("screenshot: %v\n%s", err, out)
			}
		}
	}
	out, err := exec.Command(chromium(t), args...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// TestPageDrawsFake loads the page against the fake API at the issue's
// scale (10 networks x 50 ports) and checks the DOM contract's nodes and
// the stream's changes after the snapshot, as the closed networks count
// them: a port created, one deleted, one migrating; a resync with a fresh
// snapshot; the stream then ends: reconnecting. (TestPageReadableAt10x50
// opens networks and checks ports one by one.)
func TestPageDrawsFake(t *testing.T) {
	chromium(t)
	f := newFake(10, 50)
	f.hold = 300 * time.Millisecond
	added := &api.Port{Name: "net9-new", Network: "net9", Kind: "container", Up: true, Chassis: "host-b", Addresses: []string{"10.9.0.200"}}
	gone := proto.Clone(f.ports[100]).(*api.Port)
	moving := proto.Clone(f.ports[50]).(*api.Port)
	moving.Chassis, moving.Migration = "host-b,host-a", "host-b -> host-a"
	f.later = []*api.Event{{Type: "created", Kind: "port", Name: added.Name, Port: added},
		{Type: "deleted", Kind: "port", Name: gone.Name, Port: gone},
		{Type: "updated", Kind: "port", Name: moving.Name, Port: moving, Changed: []string{"chassis", "migration"}}}
	// Then a resync: a fresh snapshot without net3-p0 replaces everything.
	f.later = append(f.later, &api.Event{Type: "resync"})
	for _, p := range append(f.ports, added) {
		switch p.Name {
		case gone.Name, "net3-p0":
		case moving.Name:
			f.later = append(f.later, &api.Event{Type: "snapshot", Kind: "port", Name: p.Name, Port: moving})
		default:
			f.later = append(f.later, &api.Event{Type: "snapshot", Kind: "port", Name: p.Name, Port: p})
		}
	}
	for _, n := range f.nets {
		f.later = append(f.later, &api.Event{Type: "snapshot", Kind: "network", Name: n.Name, Network: n})
	}
	for _, r := range f.routers {
		f.later = append(f.later, &api.Event{Type: "snapshot", Kind: "router", Name: r.Name, Router: r})
	}
	f.later = append(f.later, &api.Event{Type: "synced"})
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	dom := dumpDOM(t, srv.URL+"/console/", "3000")
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(dom, -1)) }
	// At this scale every network is drawn closed, its ports counted.
	if n := count(`<g class="node[^"]*" data-kind="port"`); n != 0 {
		t.Errorf("%d port nodes drawn, want none (every network closed at 10 x 50)", n)
	}
	if n := count(`<g class="node[^"]*" data-kind="network"`); n != 10 {
		t.Errorf("%d network nodes, want 10", n)
	}
	total := 0
	for _, m := range regexp.MustCompile(`data-kind="network" data-name="(net\d+)"[^>]*data-open="false" data-ports="(\d+)" data-up="\d+" data-down="\d+" data-migrating="(\d+)" data-lbs="(\d+)"`).FindAllStringSubmatch(dom, -1) {
		n, _ := strconv.Atoi(m[2])
		total += n
		want := map[string]string{"net9": "51", "net2": "49", "net3": "49"}[m[1]] // created; deleted; gone at the resync
		if want == "" {
			want = "50"
		}
		if m[2] != want {
			t.Errorf("network %s counts %s ports, want %s", m[1], m[2], want)
		}
		if mig := map[string]string{"net0": "1", "net1": "1"}[m[1]]; m[3] != mig && (mig != "" || m[3] != "0") {
			t.Errorf("network %s counts %s migrating ports, want %s", m[1], m[3], mig)
		}
		if m[4] != "0" {
			t.Errorf("network %s counts %s load balancers: the load balancer, not in the resync's snapshot, is still there", m[1], m[4])
		}
	}
	if total != 499 {
		t.Errorf("the networks count %d ports, want 499 (one created, one deleted, one gone at the resync)", total)
	}
	for _, want := range []string{`data-kind="external" data-name="public"`, `data-kind="router" data-name="edge"`,
		`id="status" data-mode="reconnecting"`, `data-group="web"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := count(`<path class="edge`); n != 10+1 {
		t.Errorf("%d edges, want 11 (the router to each network, the gateway)", n)
	}
}

// TestPageFallsBackToPolling: a stream that keeps failing (503) makes the
// page poll the state.
func TestPageFallsBackToPolling(t *testing.T) {
	chromium(t)
	f := newFake(2, 5)
	f.down = true
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	ports := regexp.MustCompile(`data-kind="port"`)
	// chromium's virtual time does not hold back the real fetches of a
	// loaded machine: up to three loads for the page's polled state.
	var dom string
	for try := 0; try < 3; try++ {
		dom = dumpDOM(t, srv.URL+"/console/", "8000")
		if strings.Contains(dom, `id="status" data-mode="polling"`) && len(ports.FindAllString(dom, -1)) == 10 {
			break
		}
	}
	if !strings.Contains(dom, `id="status" data-mode="polling"`) {
		t.Errorf("the page does not poll after the stream failed 3 times")
	}
	if n := len(ports.FindAllString(dom, -1)); n != 10 {
		t.Errorf("%d port nodes, want 10", n)
	}
}

// TestServeFake serves the page and the fake API at $CONSOLE_FAKE_ADDR
// (e.g. 127.0.0.1:8099) until killed: to look at the page by hand.
func TestServeFake(t *testing.T) {
	addr := os.Getenv("CONSOLE_FAKE_ADDR")
	if addr == "" {
		t.Skip("CONSOLE_FAKE_ADDR not set")
	}
	t.Logf("serving http://%s/console/", addr)
	t.Fatal(http.ListenAndServe(addr, newFake(10, 50).handler()))
}

// TestPageGroupEditor opens the editor on a group (#sg/web): its rule as
// a badge with the daemon's id and text, the presets, its member.
func TestPageGroupEditor(t *testing.T) {
	chromium(t)
	f := newFake(2, 5)
	f.hold = 300 * time.Millisecond
	rule := f.sgs["web"].Rules[0]
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	dom := dumpDOM(t, srv.URL+"/console/#sg/web", "3000")
	for _, want := range []string{`<li data-group="web" tabindex="0" role="option" aria-selected="true"`,
		`<li class="rule" data-rule-id="` + rule.Id + `"><span class="rule-text">` + rule.Spec + `</span>`,
		`<li data-port="net0-p0">`, `id="view-sg" role="tabpanel" aria-labelledby="tab-sg">`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the editor lacks %s", want)
		}
	}
	for _, p := range []string{"web", "ssh", "rdp", "database", "icmp", "internal"} {
		if !strings.Contains(dom, `data-preset="`+p+`"`) {
			t.Errorf("no preset button %s", p)
		}
	}
}
