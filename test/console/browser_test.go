package console

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// browser is the one chromium every test opens its tab in.
type browser struct {
	ctx context.Context // a chromedp context whose browser runs
	log string          // chromium's output
}

// startBrowser starts Debian's chromium, headless (as root it needs
// --no-sandbox), its window the 1280x800 the console is designed for.
func startBrowser(e *harness.Env) error {
	logPath := filepath.Join(e.Tmp, "chromium.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(lf))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	e.Cleanup(func() { cancel(); cancelAlloc(); lf.Close() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		return fmt.Errorf("start chromium: %v\n%s", err, harness.TailFile(logPath, 20))
	}
	w.browser = &browser{ctx: ctx, log: logPath}
	return nil
}

// chromiumPath is Debian's chromium binary itself (its /usr/bin/chromium is
// a wrapper script), else chromium on PATH.
func chromiumPath() string {
	const real = "/usr/lib/chromium/chromium"
	if _, err := os.Stat(real); err == nil {
		return real
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// page is one test's tab.
type page struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage // what the page wrote to its console
}

// newPage opens a tab for the test. When the test fails, the tab's
// screenshot and HTML, its console and the daemon's log are kept.
func newPage(t *testing.T) *page {
	t.Helper()
	requireWorld(t)
	logOnFailure(t)
	ctx, cancel := chromedp.NewContext(w.browser.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a tab: %v\n%s", err, harness.TailFile(w.browser.log, 20))
	}
	p := &page{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.saveOnFailure)
	return p
}

// consoleMessages is what the page wrote to its console so far.
func (p *page) consoleMessages() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), p.console...)
}

// saveOnFailure keeps the screenshot and the HTML of a failed test's tab.
func (p *page) saveOnFailure() {
	if !p.t.Failed() {
		return
	}
	for _, m := range p.consoleMessages() {
		p.t.Logf("page console: %s (%s:%d)", m, m.URL, m.Line+1)
	}
	dir, err := artifactsDir()
	if err != nil {
		p.t.Logf("no artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	base := filepath.Join(dir, strings.ReplaceAll(p.t.Name(), "/", "_"))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		p.t.Logf("screenshot: %v", err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		p.t.Logf("screenshot: %v", err)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		os.WriteFile(base+".html", []byte(html), 0o644)
	}
	p.t.Logf("artifacts of the failure: %s.png and %s.html", base, base)
}

var (
	artifactsOnce sync.Once
	artifacts     string
	artifactsErr  error
)

// artifactsDir is $QN_ARTIFACTS, else a temporary directory that stays.
func artifactsDir() (string, error) {
	artifactsOnce.Do(func() {
		if artifacts = os.Getenv("QN_ARTIFACTS"); artifacts != "" {
			artifactsErr = os.MkdirAll(artifacts, 0o755)
			return
		}
		artifacts, artifactsErr = os.MkdirTemp("", "qn-console-artifacts-")
	})
	return artifacts, artifactsErr
}

// do runs the actions in the tab within 10 s, failing the test on an error.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates the JavaScript expression in the tab (awaiting a promise)
// into a T, within 10 s.
func eval[T any](p *page, js string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// mustEval is eval failing the test.
func mustEval[T any](p *page, js string) T {
	p.t.Helper()
	v, err := eval[T](p, js)
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open loads the console and waits until it is live (its stream synced).
func (p *page) open() {
	p.t.Helper()
	p.do("load the console", chromedp.Navigate(w.origin+"/console/"))
	p.waitMode("live", 10*time.Second)
}

// mode is #status's data-mode.
func (p *page) mode() string {
	m, _ := eval[string](p, `(document.querySelector('#status')?.getAttribute('data-mode')) || ''`)
	return m
}

// waitMode waits until #status's data-mode is want (or, with want
// beginning with "!", is anything else) and returns how long it took.
func (p *page) waitMode(want string, limit time.Duration) time.Duration {
	p.t.Helper()
	start, got := time.Now(), ""
	ok := ovsdbtest.Until(p.ctx, limit, func() bool {
		got = p.mode()
		if not, neg := strings.CutPrefix(want, "!"); neg {
			return got != "" && got != not
		}
		return got == want
	})
	if !ok {
		p.t.Fatalf("#status data-mode is %q after %v, want %q", got, limit, want)
	}
	return time.Since(start)
}

// node is what the topology shows of one object; Present is false when it
// is not drawn (or hidden).
type node struct {
	Present  bool   `json:"present"`
	State    string `json:"state"`
	Chassis  string `json:"chassis"`
	PortKind string `json:"port_kind"`
}

// node reads the topology's node of kind and name.
func (p *page) node(kind, name string) (node, error) {
	sel := fmt.Sprintf(`g.node[data-kind=%q][data-name=%q]`, kind, name)
	return eval[node](p, `(() => {
		const n = document.querySelector(`+jsString(sel)+`);
		if (!n || n.closest('[hidden]')) return {present: false, state: '', chassis: '', port_kind: ''};
		return {present: true, state: n.getAttribute('data-state') || '', chassis: n.getAttribute('data-chassis') || '',
			port_kind: n.getAttribute('data-port-kind') || ''};
	})()`)
}

// waitNode polls the topology until the node of kind and name satisfies
// ok, failing the test after limit; it returns the node and how long the
// wait took.
func (p *page) waitNode(kind, name string, limit time.Duration, what string, ok func(node) bool) (node, time.Duration) {
	p.t.Helper()
	start := time.Now()
	var n node
	var err error
	if !ovsdbtest.Until(p.ctx, limit, func() bool { n, err = p.node(kind, name); return err == nil && ok(n) }) {
		p.t.Fatalf("topology node %s %q: not %s after %v (last: %+v, %v)", kind, name, what, limit, n, err)
	}
	return n, time.Since(start)
}

func present(n node) bool { return n.Present }
func absent(n node) bool  { return !n.Present }
func isUp(n node) bool    { return n.Present && n.State == "up" }

// text is the trimmed text of the first element matching the CSS
// selector, "" when there is none.
func (p *page) text(sel string) string {
	s, _ := eval[string](p, `(document.querySelector(`+jsString(sel)+`)?.textContent || '').trim()`)
	return s
}

// waitText polls the text of sel until ok, failing the test after limit.
func (p *page) waitText(sel string, limit time.Duration, what string, ok func(string) bool) string {
	p.t.Helper()
	var s string
	if !ovsdbtest.Until(p.ctx, limit, func() bool { s = p.text(sel); return ok(s) }) {
		p.t.Fatalf("%s: %s is %q after %v", what, sel, s, limit)
	}
	return s
}

// click clicks (with the mouse) the first element matching the CSS selector
// once it is visible.
func (p *page) click(sel string) {
	p.t.Helper()
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto replaces the value of the input sel with s, typed as keys
// (the old value cleared as a user's select-all and delete would).
func (p *page) typeInto(sel, s string) {
	p.t.Helper()
	if _, err := eval[chromedp.Void](p, `(() => { const e = document.querySelector(`+jsString(sel)+`);
		e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); })()`); err != nil {
		p.t.Fatalf("clear %s: %v", sel, err)
	}
	if s != "" {
		p.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), s, chromedp.NodeVisible))
	}
}
