// Package console is the daemon side of the web console ([http] console):
// the embedded page (daemon/console/web) with its CSRF token templated in,
// the login that turns the listener's token into a cookie, and the JSON
// API and event stream under /console/api/. The API calls the daemon's
// gRPC service implementation in-process (daemon/server), so validation
// and messages are exactly qnetctl's; the stream reads the event hub.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/daemon/console/web"
	"github.com/quantumnet/quantumnet/daemon/server"
)

// Placeholder is what index.html carries where the CSRF token goes.
const Placeholder = "__QN_CSRF__"

// CookieName is the login cookie (httpapi accepts it under /console/).
const CookieName = "qn_console"

// CSRFHeader must carry the page's token on every write.
const CSRFHeader = "X-QN-CSRF"

// CSP is the page's Content-Security-Policy: nothing from elsewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"

// KeepAlive is the interval of the event stream's comment lines.
var KeepAlive = 15 * time.Second

// Options are what the console serves from.
type Options struct {
	// Server is the daemon's gRPC service implementation (its Events hub
	// feeds the stream; nil Events: the stream is unavailable).
	Server *server.Server
	// Chassis is this daemon's chassis (in the state).
	Chassis string
	// TokenMatches checks a login's token; nil: the listener has none
	// (loopback) and the login just goes to the page.
	TokenMatches func(string) bool
	// Secure marks the cookie Secure (the listener serves TLS).
	Secure bool
	// LoopbackHosts refuses a request whose Host is not localhost or a
	// loopback address: on a loopback listener without a token, a page
	// of another site whose name was rebound to 127.0.0.1 (DNS
	// rebinding) would otherwise be "same origin" with the console.
	LoopbackHosts bool
	// Done ends the event streams when it is done (the daemon stops); nil:
	// only the client's going or the hub's closing does.
	Done context.Context
	Log  *slog.Logger
}

// Console serves the page and its API.
type Console struct {
	o      Options
	csrf   string
	index  []byte
	assets http.Handler
}

// New makes the CSRF token (random per daemon start) and the page.
func New(o Options) (*Console, error) {
	if o.Server == nil {
		return nil, errors.New("console: no server")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Done == nil {
		o.Done = context.Background()
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("console: csrf token: %w", err)
	}
	c := &Console{o: o, csrf: hex.EncodeToString(b)}
	index, err := fs.ReadFile(web.FS, "dist/index.html")
	if err != nil {
		return nil, fmt.Errorf("console: the embedded page: %w", err)
	}
	if !bytes.Contains(index, []byte(Placeholder)) {
		return nil, fmt.Errorf("console: the embedded index.html has no %s for the CSRF token", Placeholder)
	}
	c.index = bytes.ReplaceAll(index, []byte(Placeholder), []byte(c.csrf))
	dist, err := fs.Sub(web.FS, "dist")
	if err != nil {
		return nil, err
	}
	c.assets = http.StripPrefix("/console/", http.FileServerFS(dist))
	return c, nil
}

// CSRF is the token the page carries (tests).
func (c *Console) CSRF() string { return c.csrf }

// Mount mounts the console's routes with handle (httpapi.Server.Handle).
func (c *Console) Mount(handle func(pattern string, h http.Handler)) {
	page := func(f http.HandlerFunc) http.Handler { return headers(false, c.host(f)) }
	handle("GET /console", page(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
	}))
	handle("GET /console/{$}", page(c.page))
	handle("GET /console/login", page(c.login))
	handle("GET /console/assets/", page(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		c.assets.ServeHTTP(w, r)
	}))
	for pattern, f := range c.routes() {
		handle(pattern, headers(true, c.host(c.guard(f))))
	}
	handle("/console/api/", headers(true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s: no such console API", r.Method, r.URL.Path))
	})))
}

// headers sets the security headers of every console response (and
// no-store for the API).
func headers(api bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if api {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// host refuses, with LoopbackHosts, a Host other than localhost or a
// loopback address (403).
func (c *Console) host(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.o.LoopbackHosts && !loopbackHost(r.Host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf(
				"host %q is not localhost or a loopback address (open the console as http://127.0.0.1:PORT/console/)", r.Host))
			return
		}
		h.ServeHTTP(w, r)
	}
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// page is index.html with the CSRF token.
func (c *Console) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // the token changes with each start
	_, _ = w.Write(c.index)
}

// login turns ?token=T into the login cookie and goes to the page; a wrong
// token is 401 and sets nothing.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if c.o.TokenMatches != nil {
		tok := r.URL.Query().Get("token")
		if tok == "" || !c.o.TokenMatches(tok) {
			http.Error(w, "console login: wrong or missing token (open /console/login?token=<the http.token_file token>)",
				http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/console/", HttpOnly: true,
			Secure: c.o.Secure, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// guard refuses a write (any method but GET and HEAD) without the page's
// CSRF token or from another origin: 403 with a JSON error.
func (c *Console) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(c.csrf)) != 1 {
				writeError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header (reload the console)")
				return
			}
			if o := r.Header.Get("Origin"); o != "" && o != c.origin(r) {
				writeError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not the console's (%s)", o, c.origin(r)))
				return
			}
			if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
				writeError(w, http.StatusForbidden, fmt.Sprintf("a %s request may not write", s))
				return
			}
		}
		h(w, r)
	})
}

// origin is the page's own origin as the browser names it.
func (c *Console) origin(r *http.Request) string {
	if r.TLS != nil || c.o.Secure {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
