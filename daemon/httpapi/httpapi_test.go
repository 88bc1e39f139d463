package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/config"
)

// serve starts a listener on a free loopback port with the given token
// ("" : none) and readiness; it returns its base URL.
func serve(t *testing.T, token string, ready bool) string {
	t.Helper()
	cfg := config.HTTP{Listen: "127.0.0.1:0"}
	if token != "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(cfg.TokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(cfg, func(context.Context) (bool, []string) {
		if ready {
			return true, nil
		}
		return false, []string{"northbound database not connected"}
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("GET /extra", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "mounted") }))
	s.Handle("GET /console/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "console") }))
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeOn(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadyAndMounted(t *testing.T) {
	base := serve(t, "", false)
	if code, _ := get(t, base+"/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get(t, base+"/readyz", ""); code != 503 || !strings.Contains(body, "northbound database not connected") {
		t.Errorf("/readyz not ready: %d %q, want 503 naming the problem", code, body)
	}
	if code, body := get(t, base+"/extra", ""); code != 200 || body != "mounted" {
		t.Errorf("/extra: %d %q", code, body)
	}
	if code, _ := get(t, serve(t, "", true)+"/readyz", ""); code != 200 {
		t.Errorf("/readyz ready: %d", code)
	}
}

func TestToken(t *testing.T) {
	base := serve(t, "s3cret", true)
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 401},
		{"/readyz", "wrong", 401},
		{"/extra", "s3cret", 200},
		{"/readyz", "s3cret", 200},
	} {
		if code, _ := get(t, base+tc.path, tc.token); code != tc.want {
			t.Errorf("%s with token %q: %d, want %d", tc.path, tc.token, code, tc.want)
		}
	}
}

func TestRefusesBadFiles(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for _, cfg := range []config.HTTP{
		{Listen: "127.0.0.1:0", TokenFile: empty},
		{Listen: "127.0.0.1:0", TokenFile: "/nonexistent/token"},
		{Listen: "127.0.0.1:0", TLSCert: "/nonexistent/c.pem", TLSKey: "/nonexistent/k.pem"},
	} {
		_, err := New(cfg, nil, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "http.t") {
			t.Errorf("%+v: %v, want an error naming the key", cfg, err)
		}
	}
}

// TestTLS: with tls_cert and tls_key the listener speaks HTTPS only.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	cfg := config.HTTP{Listen: "127.0.0.1:0", TLSCert: filepath.Join(dir, "c.pem"), TLSKey: filepath.Join(dir, "k.pem")}
	_ = os.WriteFile(cfg.TLSCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(cfg.TLSKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	s, err := New(cfg, func(context.Context) (bool, []string) { return true, nil }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.ServeOn(ctx, l) }()
	pool := x509.NewCertPool()
	cert, _ := x509.ParseCertificate(der)
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + l.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("https /readyz: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + l.Addr().String() + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served with TLS configured")
		}
		resp.Body.Close()
	}
}

// TestConsoleCookie: the console's login cookie stands for the token under
// /console/ only; /console/login is open (it checks the token itself).
func TestConsoleCookie(t *testing.T) {
	base := serve(t, "s3cret", true)
	for _, tc := range []struct {
		path, cookie string
		want         int
	}{
		{"/console/", "s3cret", 200},
		{"/console/api/state", "wrong", 401},
		{"/console/", "", 401},
		{"/extra", "s3cret", 401},
		{"/readyz", "s3cret", 401},
		{"/console/login", "", 200}, // reaches the handler
	} {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: ConsoleCookie, Value: tc.cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s with cookie %q: %d, want %d", tc.path, tc.cookie, resp.StatusCode, tc.want)
		}
	}
}
