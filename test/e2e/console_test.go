package e2e

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/test/harness"
)

// consoleClient is an HTTP client dialling inside the sandbox's host
// namespace (where the daemon's loopback listener is).
func consoleClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = inNetns(sbx.Netns, func() error {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}}
}

// TestConsoleServesLive: the real daemon with [http] console = true serves
// the page with its CSRF token, refuses a write without it, and its event
// stream shows a container attached through the CNI plugin, then its
// deletion.
func TestConsoleServesLive(t *testing.T) {
	env.Require(t)
	listen := freeLoopbackInNetns(t, sbx.Netns)
	d := launchWith(t, func(c *harness.DaemonConfig) { c.HTTPListen, c.Console = listen, true })
	d.MustReady()
	base := "http://" + listen
	if page := scrapeOK(t, base+"/console/"); !strings.Contains(page, `name="qn-csrf"`) || strings.Contains(page, "__QN_CSRF__") {
		t.Fatalf("page without its CSRF token: %s", page)
	}
	const netName = "e2e-console"
	d.MustNetwork(netName, "--subnet4", "10.246.0.0/24")
	hc := consoleClient()
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(base+"/console/api/security-groups", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("write without the CSRF token: %d, want 403", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(harness.Context(t), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/console/api/events", nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	// next returns the next event of a port of netName (or "synced").
	next := func() *api.Event {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
			if !ok {
				continue
			}
			ev := &api.Event{}
			if err := protojson.Unmarshal([]byte(data), ev); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			if ev.Type == "synced" || ev.GetPort().GetNetwork() == netName {
				return ev
			}
		}
	}
	for ev := next(); ev.Type != "synced"; ev = next() {
		t.Fatalf("a port of %s before synced: %v", netName, ev)
	}
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("consolenet", netName, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	rt := harness.RT("ctr-console", harness.Netns(t, "console"), "eth0")
	if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	ev := next()
	if ev.Type != "created" {
		t.Fatalf("after ADD: %v, want created", ev)
	}
	port := ev.Name
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	for ev = next(); ev.Type != "deleted"; ev = next() {
	}
	if ev.Name != port {
		t.Errorf("deleted %s, want %s", ev.Name, port)
	}
}
