package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
)

// groupSpecs is the fake's rules of a group, as their text.
func (f *fakeAPI) groupSpecs(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if g := f.sgs[name]; g != nil {
		for _, r := range g.Rules {
			out = append(out, r.Spec)
		}
	}
	return out
}

// TestPageEditorEdits works the editor as a user would, mouse and
// keyboard: an inline edit refused by the rule parser (its message shown,
// nothing written), one accepted (Enter), one cancelled (Escape); a rule
// deleted; a group created, given a preset and deleted (asked twice); and,
// from the topology's detail panel, a port given a group.
func TestPageEditorEdits(t *testing.T) {
	f := newFake(2, 5)
	tb := openTab(t, f, 1280, 800, "#sg/web")
	tb.until("the web group's rule", `document.querySelector('#sg-rules li.rule .rule-text')`)
	old := f.groupSpecs("web")

	// Inline edit: a bad rule shows the parser's message and writes nothing.
	tb.click("#sg-rules li.rule button.edit")
	tb.until("the rule in an input", `document.activeElement.matches('#sg-rules input.edit-text')`)
	const bad = "ingress tcp 90-80"
	_, err := secgroup.ParseRule(bad)
	if err == nil {
		t.Fatalf("the parser accepts %q", bad)
	}
	tb.typeIn("#sg-rules input.edit-text", bad)
	tb.until("the parser's message", `document.querySelector('#rule-error').textContent === `+quote(err.Error()))
	if got := f.groupSpecs("web"); !slices.Equal(got, old) {
		t.Errorf("a refused edit changed the rules: %v, were %v", got, old)
	}
	// A good one replaces the rule (Enter saves).
	tb.typeIn("#sg-rules input.edit-text", "ingress tcp 443")
	tb.until("the edited badge", `[...document.querySelectorAll('#sg-rules .rule-text')].map((e) => e.textContent).join() === 'ingress ipv4 tcp 443'`)
	if got := f.groupSpecs("web"); !slices.Equal(got, []string{"ingress ipv4 tcp 443"}) {
		t.Errorf("after the edit the group's rules are %v", got)
	}
	if e := tb.text("#rule-error"); e != "" {
		t.Errorf("#rule-error after a good edit: %q", e)
	}
	// Escape cancels an edit.
	tb.click("#sg-rules li.rule button.edit")
	tb.until("the rule in an input", `document.activeElement.matches('#sg-rules input.edit-text')`)
	tb.do("type and Escape", chromedp.KeyEvent("x"), chromedp.KeyEvent(kb.Escape))
	tb.until("the edit cancelled", `!document.querySelector('#sg-rules input.edit-text') && document.querySelector('#sg-rules .rule-text').textContent === 'ingress ipv4 tcp 443'`)
	// Delete.
	tb.click("#sg-rules li.rule button.delete")
	tb.until("no rules left", `!document.querySelector('#sg-rules li.rule')`)
	if got := f.groupSpecs("web"); len(got) != 0 {
		t.Errorf("after the delete the group's rules are %v", got)
	}

	groupsOfEditor(t, tb, f)
	portInTopology(t, tb, f)
}

// groupsOfEditor: a rule added elsewhere shows; a group created, given a
// preset and deleted.
func groupsOfEditor(t *testing.T, tb *tab, f *fakeAPI) {
	// A rule added elsewhere (as qnetctl would) shows while the editor is open.
	f.mu.Lock()
	err := f.addRules("web", []string{"ingress udp 53"}, "")
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	tb.until("the rule added elsewhere", `[...document.querySelectorAll('#sg-rules .rule-text')].some((e) => e.textContent === 'ingress ipv4 udp 53')`)

	// A group created (Enter in the name), given a preset, deleted.
	tb.typeIn("#sg-new-name", "db")
	tb.until("the new group selected", `document.querySelector('#sg-list li[data-group="db"][aria-selected="true"]') && document.querySelector('#sg-title').textContent === 'db'`)
	// The list from the keyboard: Enter on a group selects it.
	tb.key(`#sg-list li[data-group="web"]`, kb.Enter)
	tb.until("web selected with Enter", `document.querySelector('#sg-title').textContent === 'web'`)
	tb.key(`#sg-list li[data-group="db"]`, kb.Enter)
	tb.until("db selected with Enter", `document.querySelector('#sg-title').textContent === 'db'`)
	tb.click(`#sg-presets button[data-preset="database"]`)
	tb.until("the preset's badges", `document.querySelectorAll('#sg-rules li.rule').length > 0`)
	if len(f.groupSpecs("db")) == 0 {
		t.Errorf("the database preset wrote no rule to db")
	}
	tb.click("#sg-delete")
	if got := tb.text("#sg-delete"); !strings.Contains(got, "Really delete db") {
		t.Errorf("the first click on delete shows %q, want it to ask again", got)
	}
	tb.click("#sg-delete")
	tb.until("the group gone", `!document.querySelector('#sg-list li[data-group="db"]')`)
}

// portInTopology: a port's node and detail panel; a port given a group
// there; the README's picture of the editor.
func portInTopology(t *testing.T, tb *tab, f *fakeAPI) {
	// The topology's detail panel: net0-p1 joins web.
	tb.click("#tab-topology")
	// A port's node shows its address, chassis and floating IP.
	tb.until("net0-p0 drawn", `document.querySelector('#topology g.node[data-name="net0-p0"]')`)
	if got := tb.text(`#topology g.node[data-name="net0-p0"]`); !strings.Contains(got, "10.0.0.10") ||
		!strings.Contains(got, "host-a⇄203.0.113.10") {
		t.Errorf("port net0-p0's node reads %q, want its address, chassis and floating IP", got)
	}
	// Its detail panel: addresses, MAC, DNS name, groups, floating IP, chassis, load balancer.
	tb.key(`#topology g.node[data-name="net0-p0"]`, kb.Enter)
	for field, want := range map[string]string{"addresses": "10.0.0.10 on net0", "mac": "0a:00:00:00:00:00",
		"dns_name": "net0-p0.lab.example", "security_groups": "web", "floating_ips": "203.0.113.10 → 10.0.0.10",
		"chassis": "host-a", "load_balancers": "web-lb", "kind": "port (vm, domain dom-net0-p0)", "state": "up"} {
		tb.until("the detail panel's "+field+" of net0-p0: "+want, `document.querySelector('#detail [data-field="`+field+`"]').textContent === `+quote(want))
	}
	port := `#topology g.node[data-kind="port"][data-name="net0-p1"]`
	tb.key(port, kb.Enter)
	tb.until("the port's groups", `document.querySelector('#detail-groups input[data-group="web"]')`)
	tb.click(`#detail-groups input[data-group="web"]`)
	tb.click("#detail-groups-save")
	tb.until("the port's groups saved", `document.querySelector('#detail [data-field="security_groups"]').textContent === 'web'`)
	f.mu.Lock()
	got := f.ports[1].SecurityGroups
	f.mu.Unlock()
	if !slices.Equal(got, []string{"web"}) {
		t.Errorf("net0-p1's groups in the API: %v, want [web]", got)
	}
	tb.do("Escape closes the panel", chromedp.KeyEvent(kb.Escape))
	tb.until("the detail panel closed, the port focused again", `document.querySelector('#detail').hidden && document.activeElement.matches('`+port+`')`)

	// The README's picture of the editor: web with presets and a custom rule.
	tb.click("#tab-sg")
	tb.click(`#sg-list li[data-group="web"]`)
	for _, p := range []string{"ssh", "icmp"} {
		tb.click(`#sg-presets button[data-preset="` + p + `"]`)
	}
	tb.typeIn("#rule-text", "ingress tcp 8080 from 10.0.0.0/8")
	tb.until("the web group's five rules", `document.querySelectorAll('#sg-rules li.rule').length >= 5`)
	tb.shot("security-groups")
}
