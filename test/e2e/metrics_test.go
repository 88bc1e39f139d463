package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/quantumnet/quantumnet/test/harness"
)

// TestMetricsMoveWithADDs: with [http] listen on, /readyz is 200 while
// ready, /metrics passes promtool, the ADD histogram counts exactly the
// ADDs done and the used addresses of a new network grow by its ports (the
// network starts with one: its resolver endpoint's).
func TestMetricsMoveWithADDs(t *testing.T) {
	env.Require(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil && os.Getenv("CI") != "true" {
		t.Skip("promtool (Debian's prometheus package, scripts/deps.sh) is missing")
	} else if err != nil {
		t.Fatal("promtool is missing under CI: run scripts/deps.sh")
	}
	listen := freeLoopbackInNetns(t, sbx.Netns)
	d := launchWith(t, func(c *harness.DaemonConfig) { c.HTTPListen = listen })
	d.MustReady()
	base := "http://" + listen
	if code, body := scrape(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz of a ready daemon: %d %s", code, body)
	}
	if code, _ := scrape(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	const netName = "e2e-metrics"
	d.MustNetwork(netName, "--subnet4", "10.247.0.0/24")
	before := metrics(t, base)
	addsBefore := before[`quantumnet_cni_request_duration_seconds_count{result="ok",verb="ADD"}`]
	usedBefore := before[`quantumnet_ipam_used_addresses{network="e2e-metrics",subnet="10.247.0.0/24"}`]

	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("metricsnet", netName, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	const adds = 2
	for i := range adds {
		rt := harness.RT(fmt.Sprintf("ctr-m%d", i), harness.Netns(t, fmt.Sprintf("m%d", i)), "eth0")
		if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt); err != nil {
			t.Fatalf("ADD %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Config.DelNetworkList(context.Background(), c.List, rt) })
	}
	text := scrapeOK(t, base+"/metrics")
	after := parse(text)
	if got := after[`quantumnet_cni_request_duration_seconds_count{result="ok",verb="ADD"}`] - addsBefore; got != adds {
		t.Errorf("ADD ok count moved by %v, want %d", got, adds)
	}
	if got := after[`quantumnet_cni_add_phase_duration_seconds_count{phase="flows"}`] - before[`quantumnet_cni_add_phase_duration_seconds_count{phase="flows"}`]; got != adds {
		t.Errorf("ADD flows phase count moved by %v, want %d", got, adds)
	}
	if got := after[`quantumnet_ipam_used_addresses{network="e2e-metrics",subnet="10.247.0.0/24"}`] - usedBefore; got != adds {
		t.Errorf("IPAM used addresses of %s moved by %v, want %d (the ports made)", netName, got, adds)
	}
	for _, db := range []string{"nb", "sb", "ovs"} {
		if v := after[fmt.Sprintf(`quantumnet_ovsdb_connected{db=%q}`, db)]; v != 1 {
			t.Errorf("quantumnet_ovsdb_connected{db=%q} = %v, want 1", db, v)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// inNetns runs f on a thread in the named network namespace (the daemon's
// loopback is there).
func inNetns(name string, f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	ns, err := netns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err == nil {
		runtime.UnlockOSThread() // else the thread dies with its goroutine
	}
	return ferr
}

// freeLoopbackInNetns is 127.0.0.1:PORT with a port free in the namespace.
func freeLoopbackInNetns(t *testing.T, ns string) string {
	t.Helper()
	var addr string
	if err := inNetns(ns, func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addr = l.Addr().String()
		return l.Close()
	}); err != nil {
		t.Fatal(err)
	}
	return addr
}

// scrape GETs url from inside the sandbox's host namespace.
func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = inNetns(sbx.Netns, func() error {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func scrapeOK(t *testing.T, url string) string {
	t.Helper()
	code, body := scrape(t, url)
	if code != 200 {
		t.Fatalf("%s: %d %s", url, code, body)
	}
	return body
}

func metrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	return parse(scrapeOK(t, base+"/metrics"))
}

// parse maps each sample's "name{labels}" (as written) to its value.
func parse(text string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && i > 0 {
			out[line[:i]] = v
		}
	}
	return out
}
