package ovs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// dialTLS returns a client of remote with the TLS config, without waiting.
func dialTLS(t *testing.T, remote string, cfg *tls.Config) *ovs.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := ovs.New(ctx, []string{remote}, cfg, ovsdbtest.Logger(t))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); cancel() })
	return c
}

func tlsConfig(t *testing.T, ca string, c ovsdbtest.Cert) *tls.Config {
	t.Helper()
	cfg, err := ovs.TLSFiles{Key: c.Key, Cert: c.Cert, CA: ca}.Config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Defect 12: ovs-pki certificates carry no IP SAN, so Go's default check of
// ssl:127.0.0.1:PORT failed. The client verifies the chain only, as OVS
// does, and the local OVS database is dialled with TLS on an ssl: remote.
func TestIntegrationTLSOvsPKICertificates(t *testing.T) {
	pki := ovsdbtest.NewPKI(t)
	srv, remote := ovsdbtest.NewSSL(t, ovsdbtest.OVSSchema, pki, pki.Issue("db"))
	cli := pki.Issue("client")

	// What the daemon did before: Go's host name check refuses the server.
	pem, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(cli.Cert, cli.Key)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(remote, "ssl:")
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}})
	if err == nil || !strings.Contains(err.Error(), "IP SANs") {
		t.Fatalf("Go's default verification of an ovs-pki server certificate: %v, want the IP SANs error", err)
	}

	c := dialTLS(t, remote, tlsConfig(t, pki.CA, cli))
	if err := c.WaitConnected(ovsdbtest.Context(t, 10*time.Second)); err != nil {
		t.Fatalf("ssl client with ovs-pki certificates: %v", err)
	}
	root, err := c.Root()
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.Row("Open_vSwitch", []string{"_uuid"}).Str("_uuid"); root.UUID != want {
		t.Fatalf("Root over ssl = %s, want %s", root.UUID, want)
	}
}

// The chain is still verified: a server certificate of another CA is
// refused by the client, and ovsdb-server refuses a client that presents a
// certificate of another CA, or none.
func TestIntegrationTLSRefusesOtherCA(t *testing.T) {
	pki, other := ovsdbtest.NewPKI(t), ovsdbtest.NewPKI(t)
	_, good := ovsdbtest.NewSSL(t, ovsdbtest.OVSSchema, pki, pki.Issue("db"))
	_, rogue := ovsdbtest.NewSSL(t, ovsdbtest.OVSSchema, other, other.Issue("rogue"))
	cli, stranger := pki.Issue("client"), other.Issue("stranger")

	_, err := tls.Dial("tcp", strings.TrimPrefix(rogue, "ssl:"), tlsConfig(t, pki.CA, cli))
	if err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("handshake with a server of another CA: %v, want unknown authority", err)
	}
	noCert := tlsConfig(t, pki.CA, cli)
	noCert.GetClientCertificate = nil
	for name, tc := range map[string]struct {
		remote string
		cfg    *tls.Config
	}{
		"server of another CA":       {rogue, tlsConfig(t, pki.CA, cli)},
		"client of another CA":       {good, tlsConfig(t, pki.CA, stranger)},
		"client with no certificate": {good, noCert},
	} {
		c := dialTLS(t, tc.remote, tc.cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.WaitConnected(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s: connected, want refused", name)
		}
	}
	// The control: the same server accepts a certificate of its CA.
	c := dialTLS(t, good, tlsConfig(t, pki.CA, cli))
	if err := c.WaitConnected(ovsdbtest.Context(t, 10*time.Second)); err != nil {
		t.Fatalf("valid client: %v", err)
	}
}

// replace swaps the contents of dst for src's atomically (rename), as a
// certificate rotation does.
func replace(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// Certificate files are re-read when they change: after a rotation, the
// next connection presents the new certificate, without a new client.
func TestIntegrationTLSReloadsRotatedCertificate(t *testing.T) {
	pki, other := ovsdbtest.NewPKI(t), ovsdbtest.NewPKI(t)
	srv, remote := ovsdbtest.NewSSL(t, ovsdbtest.OVSSchema, pki, pki.Issue("db"))
	first, second, stranger := pki.Issue("first"), pki.Issue("second"), other.Issue("stranger")
	dir := t.TempDir()
	files := ovsdbtest.Cert{Key: filepath.Join(dir, "key.pem"), Cert: filepath.Join(dir, "cert.pem")}
	replace(t, first.Key, files.Key)
	replace(t, first.Cert, files.Cert)

	cfg := tlsConfig(t, pki.CA, files)
	var mu sync.Mutex
	var presented []string
	get := cfg.GetClientCertificate
	cfg.GetClientCertificate = func(i *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c, err := get(i)
		if err == nil {
			leaf, _ := x509.ParseCertificate(c.Certificate[0])
			mu.Lock()
			presented = append(presented, strings.Fields(leaf.Subject.CommonName)[0])
			mu.Unlock()
		}
		return c, err
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return presented[len(presented)-1]
	}
	c := dialTLS(t, remote, cfg)
	if err := c.WaitConnected(ovsdbtest.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != "first" {
		t.Fatalf("presented %q, want first", got)
	}

	// A certificate of another CA in the files: the server refuses the
	// reconnection, which shows the files were re-read.
	replace(t, stranger.Key, files.Key)
	replace(t, stranger.Cert, files.Cert)
	srv.Stop()
	srv.Start()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return last() == "stranger" }, "the rotated (foreign) certificate is presented")
	time.Sleep(500 * time.Millisecond)
	if c.Connected() {
		t.Fatal("connected with a certificate of another CA")
	}

	// A new certificate of the right CA: the client reconnects with it.
	replace(t, second.Key, files.Key)
	replace(t, second.Cert, files.Cert)
	if err := c.WaitConnected(ovsdbtest.Context(t, 15*time.Second)); err != nil {
		t.Fatalf("after rotating to a new certificate of the CA: %v", err)
	}
	if got := last(); got != "second" {
		t.Fatalf("reconnected presenting %q, want second", got)
	}
}
