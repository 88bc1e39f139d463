package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tab is the page in its own headless chromium (driven by chromedp)
// against a fake API, at a given window size.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// openTab starts chromium with a w x h window, loads the page (its URL
// fragment frag) from f and waits until the page is live.
func openTab(t *testing.T, f *fakeAPI, w, h int, frag string) *tab {
	t.Helper()
	exe := chromium(t)
	if real := "/usr/lib/chromium/chromium"; fileExists(real) { // Debian's /usr/bin/chromium is a wrapper script
		exe = real
	}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(w, h), chromedp.UserDataDir(t.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc(); srv.CloseClientConnections() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser and the tab on ctx, not on a step's timeout
		t.Fatalf("start chromium: %v", err)
	}
	tb := &tab{t: t, ctx: ctx}
	t.Cleanup(tb.saveOnFailure) // before the browser goes
	tb.do("open the page", chromedp.EmulateViewport(int64(w), int64(h)), chromedp.Navigate(srv.URL+"/console/"+frag))
	tb.until("the page is live", `document.querySelector('#status').dataset.mode === 'live'`)
	return tb
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// do runs the actions within 10 s, failing the test on an error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into v (JSON), failing the test.
func (tb *tab) eval(js string, v any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage]("JSON.stringify("+js+")"))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.t.Fatalf("evaluate %s: %v (%s)", js, err, raw)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		tb.t.Fatalf("evaluate %s: %v (%s)", js, err, s)
	}
}

// until polls the boolean expression for up to 10 s, failing the test.
func (tb *tab) until(what, js string) {
	tb.t.Helper()
	var ok bool
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if tb.eval("!!("+js+")", &ok); ok {
			return
		}
	}
	var focus string
	tb.eval(`(document.activeElement?.outerHTML || '').slice(0, 120)`, &focus)
	tb.t.Fatalf("%s: not after 10 s (%s); focus on %s", what, js, focus)
}

func (tb *tab) num(js string) int {
	tb.t.Helper()
	var n int
	tb.eval(js, &n)
	return n
}

// key sends keys to the element matching sel, focused first.
func (tb *tab) key(sel, keys string) {
	tb.t.Helper()
	tb.do("keys to "+sel, chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(keys))
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeIn focuses the input sel, clears it and types s then Enter.
func (tb *tab) typeIn(sel, s string) {
	tb.t.Helper()
	tb.do("type into "+sel, chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(kb.End))
	var n int
	tb.eval(`document.querySelector(`+quote(sel)+`).value.length`, &n)
	for range n {
		tb.do("clear "+sel, chromedp.KeyEvent(kb.Backspace))
	}
	tb.do("type into "+sel, chromedp.KeyEvent(s+kb.Enter))
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// shot saves the window as $CONSOLE_SCREENSHOT/name.png when that is set
// (the README's screenshots).
func (tb *tab) shot(name string) {
	dir := os.Getenv("CONSOLE_SCREENSHOT")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
	}
}

// saveOnFailure keeps a failed test's window as PNG and its HTML in
// $QN_ARTIFACTS, else a temporary directory that stays.
func (tb *tab) saveOnFailure() {
	if !tb.t.Failed() {
		return
	}
	dir := os.Getenv("QN_ARTIFACTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "qn-console-page-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		tb.t.Logf("no artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	base := filepath.Join(dir, strings.ReplaceAll(tb.t.Name(), "/", "_"))
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(base+".png", png, 0o644)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		_ = os.WriteFile(base+".html", []byte(html), 0o644)
	}
	tb.t.Logf("artifacts of the failure: %s.png and %s.html", base, base)
}

// readable is what the topology shows on screen: the texts displayed
// (not hidden by the zoom) inside the drawing's box, and those rendering
// smaller than 10 px (font size times the drawing's current scale).
type readable struct {
	Shown int      `json:"shown"`
	Small []string `json:"small"`
}

const readableJS = `(() => {
	const svg = document.querySelector('#topology svg'), R = svg.getBoundingClientRect(), small = [];
	let shown = 0;
	for (const t of svg.querySelectorAll('text')) {
		if (!t.getClientRects().length) continue;
		const r = t.getBoundingClientRect();
		if (r.right < R.left || r.left > R.right || r.bottom < R.top || r.top > R.bottom) continue;
		const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
		shown++;
		if (px < 9.95) small.push(t.textContent + ': ' + px.toFixed(1) + ' px');
	}
	return {shown, small};
})()`

// checkReadable fails the test when a label on screen renders below
// 10 px, and returns how many are shown.
func (tb *tab) checkReadable(what string) int {
	tb.t.Helper()
	var r readable
	tb.eval(readableJS, &r)
	if len(r.Small) > 0 {
		tb.t.Errorf("%s: %d of %d labels on screen render below 10 px: %v", what, len(r.Small), r.Shown, r.Small[:min(5, len(r.Small))])
	}
	return r.Shown
}

// onScreenJS counts the elements matching a selector whose whole box is
// inside the topology's box, and whose first text of class cls is shown.
func onScreenJS(sel, cls string) string {
	return `(() => {
	const R = document.querySelector('#topology svg').getBoundingClientRect();
	let n = 0;
	for (const g of document.querySelectorAll(` + quote(sel) + `)) {
		const r = g.getBoundingClientRect(), t = g.querySelector(` + quote("text."+cls) + `);
		if (r.left >= R.left && r.right <= R.right && r.top >= R.top && r.bottom <= R.bottom && t && t.getClientRects().length) n++;
	}
	return n;
})()`
}
