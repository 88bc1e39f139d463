package console

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fetchResult is what a fetch() from the page returned.
type fetchResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// TestWriteWithoutProtectionRefused: a write from the page's own context
// without the X-QN-CSRF header is refused with 403, and so is one from
// another origin that has the token; neither writes anything. The same
// requests with the protection pass (so the 403s are the protection's).
func TestWriteWithoutProtectionRefused(t *testing.T) {
	p := newPage(t)
	p.open()
	token := mustEval[string](p, `document.querySelector('meta[name="qn-csrf"]')?.content || ''`)
	if token == "" || token == "__QN_CSRF__" {
		t.Fatalf("the page's qn-csrf meta is %q, want the daemon's token", token)
	}

	post := func(name string, withToken bool) fetchResult {
		t.Helper()
		headers := `{'Content-Type': 'application/json'}`
		if withToken {
			headers = `{'Content-Type': 'application/json', 'X-QN-CSRF': ` + jsString(token) + `}`
		}
		return mustEval[fetchResult](p, `fetch('/console/api/security-groups', {method: 'POST', headers: `+headers+`,
			body: JSON.stringify({name: `+jsString(name)+`, description: 'console test'})})
			.then(async r => ({status: r.status, body: await r.text()}))`)
	}
	r := post("con-nocsrf", false)
	t.Logf("page fetch without X-QN-CSRF: %d %s", r.Status, r.Body)
	if r.Status != http.StatusForbidden {
		t.Errorf("page fetch without X-QN-CSRF: %d %s, want 403", r.Status, r.Body)
	}
	assertNoGroup(t, "con-nocsrf")

	t.Cleanup(func() { w.d.Qnetctl("sg", "delete", "con-csrf-page") })
	if r := post("con-csrf-page", true); r.Status/100 != 2 {
		t.Errorf("page fetch with X-QN-CSRF: %d %s, want 2xx", r.Status, r.Body)
	}
	qnetctl(t, "sg", "show", "con-csrf-page")

	code, body := goPost(t, token, "http://evil.example", "con-foreign")
	t.Logf("Go POST with the token and Origin http://evil.example: %d %s", code, body)
	if code != http.StatusForbidden {
		t.Errorf("Go POST with a foreign Origin: %d %s, want 403", code, body)
	}
	assertNoGroup(t, "con-foreign")
	t.Cleanup(func() { w.d.Qnetctl("sg", "delete", "con-csrf-go") })
	if code, body := goPost(t, token, w.origin, "con-csrf-go"); code/100 != 2 {
		t.Errorf("Go POST with the token and the page's Origin: %d %s, want 2xx", code, body)
	}
}

// goPost creates a group through the console's API from Go, with the
// token and the Origin given.
func goPost(t *testing.T, token, origin, name string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", w.origin+"/console/api/security-groups",
		bytes.NewBufferString(`{"name":"`+name+`","description":"console test"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-QN-CSRF", token)
	req.Header.Set("Origin", origin)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// assertNoGroup fails the test if the group name exists.
func assertNoGroup(t *testing.T, name string) {
	t.Helper()
	if out, err := w.d.Qnetctl("sg", "show", name); err == nil {
		t.Errorf("a refused write made group %s:\n%s", name, out)
		w.d.Qnetctl("sg", "delete", name)
	}
}
