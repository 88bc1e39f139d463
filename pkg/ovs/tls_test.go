package ovs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed certificate named cn and its key.
func writePair(t *testing.T, cn, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func presentedCN(t *testing.T, r *tlsReloader) string {
	t.Helper()
	c, err := r.clientCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

// The files are re-read when they change; a change that does not parse
// (a rotation caught half-written) keeps the last good pair; missing files
// at start are an error.
func TestTLSFilesReload(t *testing.T) {
	dir := t.TempDir()
	f := TLSFiles{Key: filepath.Join(dir, "key.pem"), Cert: filepath.Join(dir, "cert.pem"), CA: filepath.Join(dir, "ca.pem")}
	if _, err := f.Config(); err == nil {
		t.Fatal("Config without files succeeded")
	}
	writePair(t, "first", f.Cert, f.Key)
	writePair(t, "ca", f.CA, filepath.Join(dir, "ca-key.pem"))
	r := &tlsReloader{files: f}
	if got := presentedCN(t, r); got != "first" {
		t.Fatalf("presented %q, want first", got)
	}
	if err := os.WriteFile(f.Cert, []byte("-----BEGIN CERTIFICATE-----\ntrunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := presentedCN(t, r); got != "first" {
		t.Fatalf("after a half-written rotation presented %q, want the last good (first)", got)
	}
	writePair(t, "second", f.Cert, f.Key)
	if got := presentedCN(t, r); got != "second" {
		t.Fatalf("after the rotation presented %q, want second", got)
	}
}
