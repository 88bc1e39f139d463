package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestIntegrationConsoleSecurityGroups: the editor's writes through the
// console give what qnetctl's RPCs give: a bad rule is 400 with the
// parser's message (the gRPC service's, word for word) and writes nothing;
// an inline edit replaces a rule or, with a bad rule, leaves it; presets,
// deletes, a port's groups; errors map to their HTTP codes.
func TestIntegrationConsoleSecurityGroups(t *testing.T) {
	e := newEnv(t, "")
	e.s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	e.s.Port("p1", "blue", "chassis-1")

	if code, _, body := e.do("POST", "/console/api/security-groups", `{"name":"web","description":"front"}`, true); code != 200 ||
		!strings.Contains(body, `"name":"web"`) || !strings.Contains(body, `"log_drops":false`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _, body := e.do("POST", "/console/api/security-groups", `{"name":"web"}`, true); code != http.StatusConflict {
		t.Errorf("create again: %d %s, want 409", code, body)
	}
	if code, _, body := e.do("POST", "/console/api/security-groups/web/rules", `{"rules":["ingress tcp 80"]}`, true); code != 200 ||
		!strings.Contains(body, "ingress ipv4 tcp 80") {
		t.Fatalf("add rule: %d %s", code, body)
	}

	// A bad rule: the parser's message, exactly as the RPC (qnetctl) has it.
	bad := `ingress tcp 99999`
	_, rpcErr := e.srv.AddSecurityGroupRules(context.Background(), &api.SecurityGroupRules{Group: "web", Rules: []string{bad}})
	want := status.Convert(rpcErr).Message()
	before := specs(e.group("web"))
	code, _, body := e.do("POST", "/console/api/security-groups/web/rules", `{"rules":["`+bad+`"]}`, true)
	if code != 400 || errorOf(t, body) != want || strings.HasPrefix(want, "rpc error") {
		t.Errorf("bad rule: %d %s, want 400 with %q", code, body, want)
	}
	if after := specs(e.group("web")); after != before {
		t.Errorf("a bad rule wrote: %q -> %q", before, after)
	}

	// Inline edit: a bad new rule leaves the old one; a good one replaces it.
	old := e.group("web").Rules[0]
	code, _, body = e.do("PUT", "/console/api/security-groups/web/rules/"+old.Id, `{"rule":"`+bad+`"}`, true)
	if code != 400 || !strings.Contains(errorOf(t, body), "99999") {
		t.Errorf("bad edit: %d %s", code, body)
	}
	if after := specs(e.group("web")); after != before {
		t.Errorf("a bad edit wrote: %q -> %q", before, after)
	}
	code, _, body = e.do("PUT", "/console/api/security-groups/web/rules/"+old.Id, `{"rule":"ingress tcp 8080 from 10.0.0.0/8"}`, true)
	if after := specs(e.group("web")); code != 200 || after != "ingress ipv4 tcp 8080 from 10.0.0.0/8" {
		t.Errorf("edit: %d %s; rules %q", code, body, after)
	}
	if code, _, body := e.do("PUT", "/console/api/security-groups/web/rules/"+old.Id, `{"rule":"ingress tcp 81"}`, true); code != 404 {
		t.Errorf("edit of a gone rule: %d %s, want 404", code, body)
	}
	if after := specs(e.group("web")); after != "ingress ipv4 tcp 8080 from 10.0.0.0/8" {
		t.Errorf("an edit of a gone rule wrote: %q", after)
	}

	// Presets, rule deletion, unknown preset.
	if code, _, body := e.do("POST", "/console/api/security-groups/web/rules", `{"preset":"ssh"}`, true); code != 200 ||
		!strings.Contains(body, "ingress ipv6 tcp 22") {
		t.Errorf("preset: %d %s", code, body)
	}
	if code, _, body := e.do("POST", "/console/api/security-groups/web/rules", `{"preset":"telnet"}`, true); code != 400 ||
		!strings.Contains(errorOf(t, body), "preset") {
		t.Errorf("unknown preset: %d %s", code, body)
	}
	id := e.group("web").Rules[0].Id
	if code, _, body := e.do("DELETE", "/console/api/security-groups/web/rules/"+id, "", true); code != 200 || strings.Contains(body, `"`+id+`"`) {
		t.Errorf("delete rule: %d %s", code, body)
	}
	if code, _, _ := e.do("DELETE", "/console/api/security-groups/web/rules/"+id, "", true); code != 404 {
		t.Errorf("delete a gone rule: %d, want 404", code)
	}

	portGroupsAndErrors(t, e)

	// The groups alone, as the page reads them again: web with its member.
	code, _, body = e.do("GET", "/console/api/security-groups", "", false)
	var groups []struct {
		Name  string   `json:"name"`
		Ports []string `json:"ports"`
	}
	if err := json.Unmarshal([]byte(body), &groups); code != 200 || err != nil || len(groups) != 1 || groups[0].Name != "web" ||
		len(groups[0].Ports) != 1 || groups[0].Ports[0] != "p1" {
		t.Errorf("GET security-groups: %d %s (%v), want web with its member p1", code, body, err)
	}
}

// portGroupsAndErrors: a port's groups; a group with members cannot go;
// unknown names and fields.
func portGroupsAndErrors(t *testing.T, e *env) {
	if code, _, body := e.do("PUT", "/console/api/ports/p1/security-groups", `{"security_groups":["web"]}`, true); code != 200 ||
		!strings.Contains(body, `"security_groups":["web"]`) {
		t.Errorf("port groups: %d %s", code, body)
	}
	if code, _, body := e.do("PUT", "/console/api/ports/nope/security-groups", `{"security_groups":["web"]}`, true); code != 404 {
		t.Errorf("unknown port: %d %s", code, body)
	}
	if code, _, body := e.do("DELETE", "/console/api/security-groups/web", "", true); code != http.StatusConflict {
		t.Errorf("delete a group with members: %d %s, want 409", code, body)
	}
	if code, _, body := e.do("DELETE", "/console/api/security-groups/nope", "", true); code != 404 || !strings.Contains(errorOf(t, body), "nope") {
		t.Errorf("delete unknown group: %d %s", code, body)
	}
	if code, _, body := e.do("POST", "/console/api/security-groups", `{"name":"x","colour":"red"}`, true); code != 400 ||
		!strings.Contains(errorOf(t, body), "colour") {
		t.Errorf("unknown field: %d %s", code, body)
	}
}

// TestIntegrationConsoleCSRF: a write without the page's token, with a
// wrong one, from another origin or cross-site is refused (403, JSON) and
// writes nothing; the same write from the page's origin goes through. On
// a loopback listener a Host other than a loopback one is refused.
func TestIntegrationConsoleCSRF(t *testing.T) {
	e := newEnv(t, "")
	const body = `{"name":"evil"}`
	for name, tc := range map[string]struct {
		csrf bool
		hdr  []string
	}{
		"no token":     {false, nil},
		"wrong token":  {false, []string{"X-QN-CSRF", "0123"}},
		"other origin": {true, []string{"Origin", "http://evil.example"}},
		"cross-site":   {true, []string{"Sec-Fetch-Site", "cross-site"}},
		"other port":   {true, []string{"Origin", strings.Replace(e.base, ":", ":1", 2)}},
	} {
		code, hdr, got := e.do("POST", "/console/api/security-groups", body, tc.csrf, tc.hdr...)
		if code != http.StatusForbidden || hdr.Get("Content-Type") != "application/json" || errorOf(t, got) == "" {
			t.Errorf("%s: %d %s, want 403 with a JSON error", name, code, got)
		}
	}
	if g, err := e.srv.ListSecurityGroups(context.Background(), &api.Empty{}); err != nil || len(g.Groups) != 0 {
		t.Fatalf("refused writes wrote: %v %v", g, err)
	}
	if code, _, got := e.do("POST", "/console/api/security-groups", body, true, "Origin", e.base, "Sec-Fetch-Site", "same-origin"); code != 200 {
		t.Errorf("same origin with the token: %d %s", code, got)
	}
	if code, _, got := e.do("DELETE", "/console/api/security-groups/evil", "", false); code != http.StatusForbidden {
		t.Errorf("delete without the token: %d %s", code, got)
	}
	if code, _, _ := e.do("GET", "/console/api/state", "", false); code != 200 {
		t.Errorf("a read needs no token: %d", code)
	}
	// DNS rebinding: another site's name pointed at the loopback listener.
	port := e.base[strings.LastIndex(e.base, ":")+1:]
	for host, want := range map[string]int{"evil.example:" + port: 403, "localhost:" + port: 200, "[::1]:" + port: 200} {
		for _, path := range []string{"/console/", "/console/api/state"} {
			if code, _, body := e.do("GET", path, "", false, "Host", host); code != want {
				t.Errorf("GET %s as Host %s: %d %s, want %d", path, host, code, body, want)
			}
		}
	}
}
