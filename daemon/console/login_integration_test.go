package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/console"
)

// TestIntegrationConsoleLogin: with a token (a listener off loopback) the
// page needs it; /console/login?token=T sets an HttpOnly, SameSite=Strict
// cookie that opens the console's paths only; a wrong token sets nothing.
func TestIntegrationConsoleLogin(t *testing.T) {
	e := newEnv(t, "s3cret")
	if code, _, _ := e.do("GET", "/console/", "", false); code != http.StatusUnauthorized {
		t.Errorf("page without the token: %d, want 401", code)
	}
	code, hdr, _ := e.do("GET", "/console/login?token=wrong", "", false)
	if code != http.StatusUnauthorized || hdr.Get("Set-Cookie") != "" {
		t.Errorf("wrong token: %d, Set-Cookie %q", code, hdr.Get("Set-Cookie"))
	}
	code, hdr, _ = e.do("GET", "/console/login?token=s3cret", "", false)
	cookie := hdr.Get("Set-Cookie")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/console/" {
		t.Fatalf("login: %d to %q", code, hdr.Get("Location"))
	}
	for _, want := range []string{console.CookieName + "=s3cret", "HttpOnly", "SameSite=Strict", "Path=/console/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie %q is Secure without TLS", cookie)
	}
	c := "qn_console=s3cret"
	for path, want := range map[string]int{"/console/": 200, "/console/api/state": 200, "/readyz": 401} {
		if code, _, body := e.do("GET", path, "", false, "Cookie", c); code != want {
			t.Errorf("%s with the cookie: %d %s, want %d", path, code, body, want)
		}
	}
	if code, _, _ := e.do("GET", "/console/api/state", "", false, "Cookie", "qn_console=wrong"); code != 401 {
		t.Errorf("state with a wrong cookie: %d", code)
	}
	// The cookie does not stand for the CSRF token.
	if code, _, _ := e.do("POST", "/console/api/security-groups", `{"name":"x"}`, false, "Cookie", c); code != http.StatusForbidden {
		t.Errorf("write with the cookie but no CSRF token: %d", code)
	}
	if code, _, body := e.do("POST", "/console/api/security-groups", `{"name":"x"}`, true, "Cookie", c); code != 200 {
		t.Errorf("write with the cookie and the CSRF token: %d %s", code, body)
	}
}
