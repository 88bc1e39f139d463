package ovsdbtest

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PKI is a certificate authority made by ovs-pki in a temporary directory,
// as an OVN deployment makes its own: certificates carry a CN (and a DNS
// name that is not a host name), never an IP address.
type PKI struct {
	// Dir holds the authority (ovs-pki --dir) and the issued files.
	Dir string
	// CA is the PEM file of the authority's certificate.
	CA string
	t  testing.TB
}

// Cert is an issued key pair: the PEM files of the private key and of its
// certificate.
type Cert struct {
	Key, Cert string
}

// NewPKI creates a fresh authority with `ovs-pki init` (under a second).
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	Require(t, "ovs-pki")
	p := &PKI{Dir: t.TempDir(), t: t}
	p.run("init")
	p.CA = filepath.Join(p.Dir, "pki", "switchca", "cacert.pem")
	return p
}

// Issue makes a key and a certificate signed by the authority, named name
// (distinct names give distinct files).
func (p *PKI) Issue(name string) Cert {
	p.t.Helper()
	p.run("req+sign", name, "switch")
	return Cert{Key: filepath.Join(p.Dir, name+"-privkey.pem"), Cert: filepath.Join(p.Dir, name+"-cert.pem")}
}

func (p *PKI) run(args ...string) {
	p.t.Helper()
	cmd := exec.Command("ovs-pki", append([]string{"--dir=" + filepath.Join(p.Dir, "pki"), "--log=" + filepath.Join(p.Dir, "ovs-pki.log")}, args...)...)
	cmd.Dir = p.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("ovsdbtest: ovs-pki %v: %v\n%s", args, err, out)
	}
}

// NewSSL starts a private ovsdb-server on a fresh database from
// schemaPath that also listens with TLS on 127.0.0.1 (pssl:), presenting
// cert and requiring clients to present a certificate of pki, as
// ovsdb-server always does. It returns the server and its ssl: remote;
// Remote stays the unix socket; Tool is set, and an Open_vSwitch
// database initialised, as NewNB, NewSB and NewOVS do.
func NewSSL(t testing.TB, schemaPath string, pki *PKI, cert Cert) (*Server, string) {
	t.Helper()
	s := create(t, requireSchema(t, schemaPath))
	port := FreePort(t)
	s.args = []string{"--private-key=" + cert.Key, "--certificate=" + cert.Cert, "--ca-cert=" + pki.CA,
		"--remote=pssl:" + strconv.Itoa(port) + ":127.0.0.1"}
	s.Start()
	switch schemaPath {
	case NBSchema:
		s.Tool = "ovn-nbctl"
	case SBSchema:
		s.Tool = "ovn-sbctl"
	case OVSSchema:
		s.Tool = "ovs-vsctl"
		s.Run("ovs-vsctl", "--db="+s.Remote, "--no-wait", "--timeout=5", "init")
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return s, "ssl:" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovsdbtest: ovsdb-server does not accept on %s: %v\n%s", addr, err, tail(s.Log, 20))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(fmt.Errorf("ovsdbtest: free port: %w", err))
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
