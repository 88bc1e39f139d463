package web

import (
	"strings"
	"testing"
)

// usableJS scrolls the element matching sel into view and says what is
// wrong with it for a user: not shown, outside the window's width, or
// covered by something else at its centre ("" when usable).
func usableJS(sel string) string {
	return `(() => {
	const e = document.querySelector(` + quote(sel) + `);
	if (!e) return 'missing';
	e.scrollIntoView({block: 'center', inline: 'nearest'});
	const r = e.getBoundingClientRect();
	if (!r.width || !r.height) return 'not shown';
	if (r.left < 0 || r.right > window.innerWidth) return 'outside the window: ' + r.left + '..' + r.right + ' of ' + window.innerWidth;
	const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	if (!hit || !(hit === e || e.contains(hit) || hit.contains(e) && hit.tagName === 'LABEL')) return 'covered by ' + (hit ? hit.outerHTML.slice(0, 80) : 'nothing');
	return '';
})()`
}

func (tb *tab) usable(sels ...string) {
	tb.t.Helper()
	for _, sel := range sels {
		var why string
		if tb.eval(usableJS(sel), &why); why != "" {
			tb.t.Errorf("%s is not usable at %s: %s", sel, tb.t.Name(), why)
		}
	}
}

// overflowJS is how many pixels the page is wider than the window.
const overflowJS = `document.documentElement.scrollWidth - window.innerWidth`

// TestPageNarrow: in a 420x800 window (the 10 x 50 fake) the page does not
// scroll sideways; the filters, zoom, legend and topology are on screen
// and clickable, labels readable; a search opens the network it narrows
// to; selecting a node brings the detail panel into view; the editor's
// controls are usable and a rule typed there is added.
func TestPageNarrow(t *testing.T) {
	f := newFake(10, 50)
	tb := openTab(t, f, 420, 800, "")
	tb.until("10 networks drawn", `document.querySelectorAll('#topology g.node[data-kind="network"]').length === 10`)
	tb.shot("narrow")
	if px := tb.num(overflowJS); px > 0 {
		t.Errorf("the topology page is %d px wider than the 420 px window", px)
	}
	tb.usable("#tab-topology", "#tab-sg", "#filter-network", "#filter-chassis", "#filter-kind", "#filter-text",
		"#zoom-out", "#zoom-reset", "#zoom-in", "#legend", "#topology svg")
	var box struct{ W, H float64 }
	tb.eval(`(() => { const r = document.querySelector('#topology svg').getBoundingClientRect(); return {W: r.width, H: r.height}; })()`, &box)
	if box.W < 380 || box.H < 400 {
		t.Errorf("the topology is %vx%v px in a 420x800 window", box.W, box.H)
	}
	tb.eval(`document.querySelector('#topology').scrollIntoView({block: 'start'})`, new(any))
	if n := tb.num(onScreenJS(`#topology g.node[data-kind="network"]`, "name")); n < 2 {
		t.Errorf("%d networks on screen with their names shown in the narrow topology", n)
	}
	tb.checkReadable("narrow")

	// A search narrows to one port: its network opens by itself.
	tb.typeIn("#filter-text", "net4-p17")
	tb.until("net4 open on its one matching port", `document.querySelector('#topology g.node[data-kind="port"][data-name="net4-p17"]') && document.querySelectorAll('#topology g.node[data-kind="port"]').length === 1`)
	tb.click(`#topology g.node[data-kind="port"][data-name="net4-p17"]`)
	tb.until("the detail panel in the window", `(() => { const r = document.querySelector('#detail').getBoundingClientRect();
		return !document.querySelector('#detail').hidden && r.top >= 0 && r.top < window.innerHeight - 40; })()`)
	if got := tb.text(`#detail [data-field="name"]`); got != "net4-p17" {
		t.Errorf("the detail panel names %q, want net4-p17", got)
	}
	tb.usable("#detail-close", "#detail-groups-save")
	if px := tb.num(overflowJS); px > 0 {
		t.Errorf("with the detail panel the page is %d px wider than the window", px)
	}

	// The editor.
	tb.eval(`window.scrollTo(0, 0)`, new(any))
	tb.click("#tab-sg")
	tb.click(`#sg-list li[data-group="web"]`)
	tb.until("the web group's rules", `document.querySelector('#sg-rules li.rule')`)
	tb.shot("narrow-security-groups")
	tb.usable(`#sg-list li[data-group="web"]`, "#sg-new-name", "#sg-create", `#sg-rules li.rule button.edit`,
		`#sg-rules li.rule button.delete`, `#sg-presets button[data-preset="ssh"]`, "#rule-text", "#rule-add")
	if px := tb.num(overflowJS); px > 0 {
		t.Errorf("the editor is %d px wider than the window", px)
	}
	tb.typeIn("#rule-text", "ingress tcp 5432 from 10.0.0.0/8")
	tb.until("the typed rule's badge", `[...document.querySelectorAll('#sg-rules .rule-text')].some((e) => e.textContent.includes('5432'))`)
	if e := tb.text("#rule-error"); e != "" {
		t.Errorf("#rule-error after a good rule: %q", e)
	}
	if !strings.Contains(f.written(), "POST /console/api/security-groups/web/rules") {
		t.Errorf("no rule write reached the API: %s", f.written())
	}
}

// written is the fake's accepted writes, one a line.
func (f *fakeAPI) written() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.writes, "\n")
}
