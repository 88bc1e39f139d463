package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestPageReadableAt10x50: at 1280x800 with 10 networks x 50 ports, the
// first view has all 10 networks on screen as summaries, every label on
// screen at 10 px or more; Enter on a network opens it with its 50 ports
// on screen and readable, minus closes it; a click opens another; live
// changes land in a closed network's counts; zooming out hides the labels
// it would make too small instead of drawing them unreadable.
func TestPageReadableAt10x50(t *testing.T) {
	f := newFake(10, 50)
	f.push = make(chan *api.Event)
	tb := openTab(t, f, 1280, 800, "")
	const nets = `#topology g.node[data-kind="network"]`
	tb.until("10 networks drawn", `document.querySelectorAll('`+nets+`').length === 10`)
	tb.shot("topology")
	if n := tb.num(onScreenJS(nets, "name")); n != 10 {
		t.Errorf("%d of 10 networks wholly on screen with their name shown at the first view", n)
	}
	if n := tb.num(`document.querySelectorAll('` + nets + `[data-open="false"][data-ports="50"]').length`); n != 10 {
		t.Errorf("%d of 10 networks drawn closed with their 50 ports counted", n)
	}
	for _, k := range []string{"router", "external"} {
		if n := tb.num(onScreenJS(`#topology g.node[data-kind="`+k+`"]`, "f12")); n != 1 {
			t.Errorf("the %s is not on screen with its name shown", k)
		}
	}
	if shown := tb.checkReadable("first view"); shown < 10*4 {
		t.Errorf("only %d labels shown at the first view", shown)
	}
	var ms [2]float64
	tb.eval(`(() => { const m = () => { const t0 = performance.now(); for (let i = 0; i < 10; i++) renderTopology(); return (performance.now() - t0) / 10; };
		const closed = m(); for (const n of S.networks.keys()) toggled.set('network:' + n, true);
		const open = m(); toggled.clear(); renderTopology(); fit(); return [closed, open]; })()`, &ms)
	t.Logf("the topology's layout and drawing at 10 x 50: %.1f ms closed, %.1f ms all 500 ports drawn (a measure, not a check)", ms[0], ms[1])

	// Enter opens net3: its 50 ports on screen, readable.
	net3 := `#topology g.node[data-kind="network"][data-name="net3"]`
	tb.key(net3, kb.Enter)
	tb.until("net3 open", `document.querySelector('`+net3+`[data-open="true"]')`)
	ports3 := `#topology g.node[data-kind="port"][data-name^="net3-"]`
	tb.until("net3's ports drawn", `document.querySelectorAll('`+ports3+`').length === 50`)
	tb.shot("topology-open")
	if n := tb.num(onScreenJS(ports3, "f12")); n != 50 {
		t.Errorf("%d of net3's 50 ports wholly on screen with their name shown", n)
	}
	tb.checkReadable("net3 open")
	if got := tb.text(`#detail [data-field="name"]`); got != "net3" {
		t.Errorf("the detail panel shows %q, want net3", got)
	}
	tb.key(net3, "-")
	tb.until("net3 closed by -", `document.querySelector('`+net3+`[data-open="false"]') && !document.querySelector('`+ports3+`')`)
	tb.click(`#topology g.node[data-kind="network"][data-name="net5"]`)
	tb.until("net5 opened by a click", `document.querySelectorAll('#topology g.node[data-kind="port"][data-name^="net5-"]').length === 50`)
	tb.key(`#topology g.node[data-kind="network"][data-name="net5"]`, "-")
	tb.until("net5 closed", `!document.querySelector('#topology g.node[data-kind="port"]')`)

	// Zooming in (the wheel) on closed net6 at 1:1 opens it.
	var c struct{ X, Y float64 }
	tb.eval(`(() => { const r = document.querySelector('#topology g.node[data-name="net6"]').getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`, &c)
	// (deltaX 0 would be left out of the call, which the protocol refuses.)
	wheel := func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.01, -100 }
	tb.do("wheel up on net6", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, c.X, c.Y, wheel))
	tb.until("net6 opened by zooming in", `document.querySelectorAll('#topology g.node[data-kind="port"][data-name^="net6-"]').length === 50`)
	tb.key(`#topology g.node[data-kind="network"][data-name="net6"]`, "-")

	liveInClosedNetwork(t, tb, f)

	// Zoomed out, the labels that would be too small are hidden.
	for range 3 {
		tb.click("#zoom-out")
	}
	tb.until("the smallest labels hidden", `document.querySelector('#topology svg').classList.contains('hide10')`)
	tb.checkReadable("zoomed out")
	tb.click("#zoom-reset")
	tb.until("labels back at 1:1", `!document.querySelector('#topology svg').classList.contains('hide10')`)
	tb.checkReadable("after 1:1")
}

// TestPageBigNetworkGroups: a network of 230 ports shows its ports in
// groups of 50 that open one by one (nothing left out as "+N more").
func TestPageBigNetworkGroups(t *testing.T) {
	f := newFake(1, 230)
	tb := openTab(t, f, 1280, 800, "")
	const groups = `#topology g.node[data-kind="group"]`
	tb.until("5 groups", `document.querySelectorAll('`+groups+`').length === 5`)
	if n := tb.num(`document.querySelectorAll('#topology g.node[data-kind="port"]').length`); n != 0 {
		t.Errorf("%d ports drawn with every group closed", n)
	}
	second := groups + `[data-name="net0#1"]`
	if got := tb.text(second + " text"); !strings.Contains(got, "net0-p50") || !strings.Contains(got, "net0-p99") {
		t.Errorf("the second group reads %q, want the range net0-p50 … net0-p99", got)
	}
	tb.key(second, kb.Enter)
	tb.until("the second group's 50 ports", `document.querySelectorAll('#topology g.node[data-kind="port"]').length === 50`)
	for _, p := range []string{"net0-p50", "net0-p99"} {
		if tb.num(`document.querySelectorAll('#topology g.node[data-name="`+p+`"]').length`) != 1 {
			t.Errorf("port %s not drawn in the open group", p)
		}
	}
	tb.key(groups+`[data-name="net0#4"]`, kb.Enter) // off screen: focus brings it into view
	tb.until("the last group (30 ports and the load balancer) opened", `document.querySelectorAll('#topology g.node[data-kind="port"]').length === 80`)
	tb.checkReadable("two groups open")
	tb.key(second, kb.Enter)
	tb.until("the second group closed", `document.querySelectorAll('#topology g.node[data-kind="port"]').length === 30`)
}

// text is the text of the first element matching sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(`(document.querySelector(`+quote(sel)+`)?.textContent || '').trim()`, &s)
	return s
}

// choose picks an option of a filter's select, as a user's choice does
// (the value, then a change event).
func (tb *tab) choose(sel, value string) {
	tb.t.Helper()
	var ok bool
	tb.eval(`(() => { const e = document.querySelector(`+quote(sel)+`); e.value = `+quote(value)+`;
		e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === `+quote(value)+`; })()`, &ok)
	if !ok {
		tb.t.Fatalf("%s has no option %q", sel, value)
	}
}

// TestPageFilters: at 10 x 50, the network filter shows that network
// alone, open; the chassis filter only ports on that chassis (their
// networks opened); the kind filter only that kind; dragging the drawing
// pans it by as much as the mouse moved.
func TestPageFilters(t *testing.T) {
	f := newFake(10, 50)
	tb := openTab(t, f, 1280, 800, "")
	tb.until("10 networks drawn", `document.querySelectorAll('#topology g.node[data-kind="network"]').length === 10`)
	const drawn = `[...document.querySelectorAll('#topology g.node')]`
	tb.choose("#filter-network", "net2")
	tb.until("net2 alone, open with its 50 ports",
		drawn+`.filter((g) => g.dataset.kind === 'network').map((g) => g.dataset.name + ':' + g.dataset.open).join() === 'net2:true' && `+
			drawn+`.filter((g) => g.dataset.kind === 'port' && g.dataset.name.startsWith('net2-')).length === 50 && `+
			drawn+`.filter((g) => g.dataset.kind === 'port').length === 50`)
	tb.checkReadable("network filter")
	tb.choose("#filter-network", "")
	tb.choose("#filter-chassis", "host-b")
	tb.until("ports on host-b only", drawn+`.filter((g) => g.dataset.kind === 'port').length > 200 && `+
		drawn+`.filter((g) => g.dataset.kind === 'port').every((g) => g.dataset.chassis.split(',').includes('host-b'))`)
	tb.checkReadable("chassis filter")
	tb.choose("#filter-chassis", "")
	tb.choose("#filter-kind", "router")
	tb.until("routers only", drawn+`.map((g) => g.dataset.kind).join() === 'router'`)
	tb.choose("#filter-kind", "")
	tb.until("10 networks again, closed", `document.querySelectorAll('#topology g.node[data-kind="network"][data-open="false"]').length === 10`)

	// The keyboard: Tab from the zoom buttons walks the external network,
	// the router, the first network; Enter opens it; the views' tabs
	// switch with the arrow keys.
	tb.do("Tab into the drawing", chromedp.Focus(chromedp.CSS("#zoom-in")), chromedp.KeyEvent(kb.Tab))
	for _, want := range []string{`external"][data-name="public`, `router"][data-name="edge`, `network"][data-name="net0`} {
		tb.until("Tab reaches "+want, `document.activeElement.matches('#topology g.node[data-kind="`+want+`"]')`)
		if !strings.HasPrefix(want, "network") {
			tb.do("Tab", chromedp.KeyEvent(kb.Tab))
		}
	}
	tb.do("Enter", chromedp.KeyEvent(kb.Enter))
	tb.until("net0 opened from the keyboard", `document.querySelector('#topology g.node[data-name="net0"][data-open="true"]') && document.activeElement.matches('#topology g.node[data-name="net0"]')`)
	tb.do("Tab to net0's first port", chromedp.KeyEvent(kb.Tab))
	tb.until("Tab reaches net0-p0", `document.activeElement.matches('#topology g.node[data-name="net0-p0"]')`)
	tb.key("#tab-topology", kb.ArrowRight)
	tb.until("the editor shown by the arrow key", `!document.querySelector('#view-sg').hidden && document.activeElement.id === 'tab-sg'`)
	tb.do("back", chromedp.KeyEvent(kb.ArrowLeft))
	tb.until("the topology shown again", `!document.querySelector('#view-topology').hidden`)
	tb.key(`#topology g.node[data-name="net0"]`, "-")

	// Pan: a drag from an empty corner of the drawing.
	var at struct{ X, Y float64 }
	tb.eval(`(() => { const r = document.querySelector('#topology svg').getBoundingClientRect(); return {X: r.right - 40, Y: r.bottom - 40}; })()`, &at)
	before := tb.transform()
	tb.do("drag the drawing",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, at.X, at.Y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X-50, at.Y-30, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at.X-100, at.Y-60, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, at.X-100, at.Y-60, chromedp.ButtonLeft))
	after := tb.transform()
	if after[0]-before[0] != -100 || after[1]-before[1] != -60 || after[2] != before[2] {
		t.Errorf("the drag by (-100, -60) moved the drawing from %v to %v (translate x, y, scale)", before, after)
	}
}

// transform is the drawing's translate (x, y) and scale.
func (tb *tab) transform() [3]float64 {
	tb.t.Helper()
	var v [3]float64
	tb.eval(`document.querySelector('#vp').getAttribute('transform').match(/-?[\d.]+(e-?\d+)?/g).map(Number)`, &v)
	return v
}

// liveInClosedNetwork: created, migrating and deleted ports of closed net7
// change its counts; opened, it shows a migration's both chassis, then the
// new one alone.
func liveInClosedNetwork(t *testing.T, tb *tab, f *fakeAPI) {
	// Live changes to closed net7: created, migrating, deleted.
	net7 := `#topology g.node[data-kind="network"][data-name="net7"]`
	counts := func() string {
		var c map[string]string
		tb.eval(`(() => { const d = document.querySelector('`+net7+`').dataset; return {p: d.ports, u: d.up, d: d.down, m: d.migrating, o: d.open}; })()`, &c)
		return fmt.Sprintf("ports %s up %s down %s migrating %s open %s", c["p"], c["u"], c["d"], c["m"], c["o"])
	}
	if got, want := counts(), "ports 50 up 43 down 7 migrating 0 open false"; got != want {
		t.Errorf("net7: %s, want %s", got, want)
	}
	moving := proto.Clone(f.ports[7*50+1]).(*api.Port)
	moving.Chassis, moving.Migration = "host-b,host-a", "host-b -> host-a"
	gone := f.ports[7*50+2]
	arrived := proto.Clone(moving).(*api.Port) // the migration done: on the new chassis alone
	arrived.Chassis, arrived.Migration = "host-a", ""
	for _, step := range []struct {
		ev   *api.Event
		want string
	}{
		{&api.Event{Type: "created", Kind: "port", Name: "net7-new", Port: &api.Port{Name: "net7-new", Network: "net7", Kind: "vm", Up: true, Chassis: "host-b"}},
			"ports 51 up 44 down 7 migrating 0 open false"},
		{&api.Event{Type: "updated", Kind: "port", Name: moving.Name, Port: moving, Changed: []string{"chassis", "migration"}},
			"ports 51 up 43 down 7 migrating 1 open false"},
		{&api.Event{Type: "deleted", Kind: "port", Name: gone.Name, Port: gone}, "ports 50 up 42 down 7 migrating 1 open false"},
		{&api.Event{Type: "updated", Kind: "port", Name: arrived.Name, Port: arrived, Changed: []string{"chassis", "migration"}},
			"ports 50 up 43 down 7 migrating 0 open false"},
	} {
		f.push <- step.ev
		tb.until("net7 after the "+step.ev.Type+" "+step.ev.Name+": "+step.want,
			`(() => { const d = document.querySelector('`+net7+`').dataset; return `+
				quote(step.want)+` === 'ports ' + d.ports + ' up ' + d.up + ' down ' + d.down + ' migrating ' + d.migrating + ' open ' + d.open; })()`)
	}

	// Opened, net7 shows a migrating port with both chassis, then on the
	// new one alone.
	tb.key(net7, "+")
	p1 := `#topology g.node[data-kind="port"][data-name="` + moving.Name + `"]`
	tb.until("net7 open", `document.querySelector('`+p1+`[data-state="up"][data-chassis="host-a"]')`)
	f.push <- &api.Event{Type: "updated", Kind: "port", Name: moving.Name, Port: moving, Changed: []string{"chassis", "migration"}}
	tb.until(moving.Name+" migrating on host-b and host-a", `document.querySelector('`+p1+`[data-state="migrating"][data-chassis="host-b,host-a"]')`)
	f.push <- &api.Event{Type: "updated", Kind: "port", Name: arrived.Name, Port: arrived, Changed: []string{"chassis", "migration"}}
	tb.until(moving.Name+" up on host-a alone", `document.querySelector('`+p1+`[data-state="up"][data-chassis="host-a"]')`)
	if tb.num(`document.querySelectorAll('#topology g.node[data-name="`+gone.Name+`"]').length`) != 0 {
		t.Errorf("the deleted port %s is drawn", gone.Name)
	}
	tb.key(net7, "-")

}
