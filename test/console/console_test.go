package console

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestPageLoadsNothingFromOutside: every request the page makes while it
// loads, draws the topology and lists the groups stays on its own origin
// (a CDN, a font or an image from elsewhere fails the test); the page is
// served with the contract's Content-Security-Policy, and nothing in it
// violates that policy or throws.
func TestPageLoadsNothingFromOutside(t *testing.T) {
	p := newPage(t)
	var mu sync.Mutex
	var urls []string
	err := chromedp.Listen(p.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(w.origin+"/console/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("GET /console/: %d %s", resp.Status, resp.StatusText)
	}
	if csp := header(resp.Headers, "Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy of /console/ is %q, want default-src 'self' and the rest of the contract", csp)
	}
	p.waitMode("live", 10*time.Second)
	p.waitNode("port", w.srv.port, 10*time.Second, "drawn", present)
	p.click("#tab-sg")
	p.waitText(`#sg-list li[data-group="`+groupName+`"]`, 5*time.Second, "the group listed", nonEmpty)
	// Let late requests (lazy fonts, images, a second fetch) happen.
	time.Sleep(500 * time.Millisecond)

	mu.Lock()
	seen := append([]string(nil), urls...)
	mu.Unlock()
	var assets int
	for _, u := range seen {
		if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme+"://"+pu.Host != w.origin {
			t.Errorf("request outside the page's origin %s: %s", w.origin, u)
		}
		if strings.Contains(u, "/console/assets/") {
			assets++
		}
	}
	t.Logf("%d requests from the page (its origin %s): %v", len(seen), w.origin, seen)
	if assets == 0 {
		t.Errorf("no request for /console/assets/ seen (is the listener working?): %v", seen)
	}
	for _, m := range p.consoleMessages() {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			t.Errorf("page console: %s (%s:%d)", m, m.URL, m.Line+1)
		}
	}
}

// header is the value of the response header name (any case).
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func nonEmpty(s string) bool { return s != "" }

// TestTopologyShowsNetworkAndPorts: the network and the two containers the
// fixture attached through the CNI plugin are drawn, the ports up on this
// chassis as containers; selecting one shows its address in the detail
// panel.
func TestTopologyShowsNetworkAndPorts(t *testing.T) {
	p := newPage(t)
	p.open()
	p.waitNode("network", netName, 5*time.Second, "drawn", present)
	for _, c := range []*container{w.srv, w.cli} {
		n, took := p.waitNode("port", c.port, 15*time.Second, "up", isUp)
		t.Logf("port %s (%s) up after %v: %+v", c.port, c.id, took, n)
		if n.Chassis != chassis || n.PortKind != "container" {
			t.Errorf("port %s: data-chassis %q data-port-kind %q, want %q and container", c.port, n.Chassis, n.PortKind, chassis)
		}
	}
	p.click(`g.node[data-kind="port"][data-name="` + w.srv.port + `"]`)
	p.waitText(`#detail [data-field="name"]`, 5*time.Second, "the detail panel names the selected port",
		func(s string) bool { return strings.Contains(s, w.srv.port) })
	if got := p.text(`#detail [data-field="addresses"]`); !strings.Contains(got, w.srv.ip4) {
		t.Errorf("detail addresses of %s: %q, want %s in it", w.srv.port, got, w.srv.ip4)
	}
	if got := p.text(`#detail [data-field="security_groups"]`); !strings.Contains(got, groupName) {
		t.Errorf("detail security groups of %s: %q, want %s in it", w.srv.port, got, groupName)
	}
}

// TestContainerAppearsAndGoesLive: a third container attached through the
// CNI plugin is drawn without a reload (the issue asks for within a
// second: the time is measured and logged, the assertion's limit is 5 s),
// and its CNI DEL removes it.
func TestContainerAppearsAndGoesLive(t *testing.T) {
	p := newPage(t)
	p.open()
	p.waitNode("port", w.srv.port, 10*time.Second, "drawn", present)
	c, err := attach("third")
	if c != nil {
		t.Cleanup(func() { c.detach() })
	}
	if err != nil {
		t.Fatal(err)
	}
	_, took := p.waitNode("port", c.port, 5*time.Second, "drawn", present)
	since := time.Since(c.added)
	t.Logf("third container's port %s drawn %v after its CNI ADD returned (ADD took %v; the poll itself waited %v; the issue asks for 1 s)",
		c.port, since, c.addTook, took)
	if since > time.Second {
		t.Logf("NOTE: slower than the issue's 1 s")
	}
	start := time.Now()
	if err := c.detach(); err != nil {
		t.Fatalf("CNI DEL: %v", err)
	}
	p.waitNode("port", c.port, 5*time.Second, "removed", absent)
	t.Logf("port %s removed from the page %v after the CNI DEL started", c.port, time.Since(start))
}

// selectGroup opens the editor on the fixture's group.
func (p *page) selectGroup() {
	p.t.Helper()
	p.click("#tab-sg")
	p.click(`#sg-list li[data-group="` + groupName + `"]`)
	p.waitText("#sg-rules", 5*time.Second, "the group's rules shown",
		func(s string) bool { return strings.Contains(s, "tcp 8080") })
}
