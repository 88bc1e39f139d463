// Package httpapi is quantumnetd's opt-in HTTP listener ([http] in the
// config): /healthz, /readyz and whatever other packages mount on its mux
// (/metrics, the web console). Off a loopback address it serves TLS only
// and every request but /healthz needs the bearer token (or, under
// /console/, the console's login cookie). Only the web console writes, and
// only when turned on ([http] console), behind its own CSRF check.
package httpapi

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/daemon/config"
)

// Ready reports whether the daemon serves ADD (the STATUS RPC's ready) and
// its problems.
type Ready func(ctx context.Context) (ready bool, problems []string)

// Server is the listener and its mux.
type Server struct {
	// Mux is where handlers are mounted (Handle) before Serve.
	Mux   *http.ServeMux
	cfg   config.HTTP
	token []byte // nil: no token asked
	tls   *tls.Config
	log   *slog.Logger
}

// New checks the TLS files and reads the token, and mounts /healthz and
// /readyz.
func New(cfg config.HTTP, ready Ready, log *slog.Logger) (*Server, error) {
	s := &Server{Mux: http.NewServeMux(), cfg: cfg, log: log}
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("http.token_file: %w", err)
		}
		if s.token = []byte(strings.TrimSpace(string(b))); len(s.token) == 0 {
			return nil, fmt.Errorf("http.token_file: %s is empty", cfg.TokenFile)
		}
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("http.tls_cert/tls_key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	s.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, problems := ready(r.Context())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "not ready")
		} else {
			_, _ = fmt.Fprintln(w, "ready")
		}
		for _, p := range problems {
			_, _ = fmt.Fprintln(w, p)
		}
	})
	return s, nil
}

// Handle mounts h on pattern (http.ServeMux patterns).
func (s *Server) Handle(pattern string, h http.Handler) { s.Mux.Handle(pattern, h) }

// Serve listens and serves until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	return s.ServeOn(ctx, l)
}

// ServeOn serves on l (closed when it returns) until ctx ends.
func (s *Server) ServeOn(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.authorize(s.Mux), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: time.Minute, TLSConfig: s.tls}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("http listener serving", "listen", l.Addr().String(), "tls", s.tls != nil, "token", s.token != nil)
	if s.tls != nil {
		err := srv.ServeTLS(l, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ConsoleCookie is the web console's login cookie: it carries the token
// (a browser cannot send a header on a page load), set by
// /console/login?token=T, and is accepted under /console/ only.
const ConsoleCookie = "qn_console"

// TokenMatches reports whether t is the listener's token (false when it
// has none).
func (s *Server) TokenMatches(t string) bool {
	return s.token != nil && subtle.ConstantTimeCompare([]byte(t), s.token) == 1
}

// HasToken reports whether the listener asks for a token.
func (s *Server) HasToken() bool { return s.token != nil }

// TLS reports whether the listener serves HTTPS.
func (s *Server) TLS() bool { return s.tls != nil }

// authorize asks for the bearer token, when there is one, on every path
// but /healthz (a liveness probe needs no secret, and says nothing) and
// /console/login (it checks the token itself); under /console/ the login
// cookie does as well as the header.
func (s *Server) authorize(h http.Handler) http.Handler {
	if s.token == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && strings.HasPrefix(r.URL.Path, "/console/") {
			if c, err := r.Cookie(ConsoleCookie); err == nil {
				got, ok = c.Value, true
			}
		}
		open := r.URL.Path == "/healthz" || r.URL.Path == "/console/login"
		if !open && (!ok || !s.TokenMatches(got)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quantumnetd"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
