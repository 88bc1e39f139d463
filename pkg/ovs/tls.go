package ovs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM files of an OVSDB TLS client, as ovs-pki makes
// them: the private key, its certificate, and the CA certificate the
// servers' certificates must chain to.
type TLSFiles struct {
	Key, Cert, CA string
}

// Config returns the client TLS configuration for ssl: remotes. It checks
// peers as OVS does: the server's certificate chain must verify against
// the CA, but its names are not compared with the remote's host (ovs-pki
// certificates carry only a CN, no SANs). The files are re-read when
// their modification time or size changes, so a rotated certificate or
// CA is used from the next (re)connection on, without a restart. The
// files are read once here, and an error is returned when they do not
// hold a key pair and a CA.
func (f TLSFiles) Config() (*tls.Config, error) {
	r := &tlsReloader{files: f}
	if _, _, err := r.current(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is verified in VerifyConnection; only Go's host name
		// check is skipped.
		InsecureSkipVerify:   true, //nolint:gosec // see VerifyConnection
		VerifyConnection:     r.verify,
		GetClientCertificate: r.clientCertificate,
	}, nil
}

// tlsReloader holds the last good key pair and CA pool read from the files.
type tlsReloader struct {
	files TLSFiles

	mu    sync.Mutex
	stamp [3]fileStamp
	cert  *tls.Certificate
	pool  *x509.CertPool
}

// fileStamp is what tells a changed file: modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

// current returns the key pair and CA pool, re-reading the files when one
// changed. A file that changed but does not parse (caught mid-write, say)
// leaves the last good pair in use; the error is returned only when there
// is none yet.
func (r *tlsReloader) current() (*tls.Certificate, *x509.CertPool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var now [3]fileStamp
	for i, p := range []string{r.files.Key, r.files.Cert, r.files.CA} {
		fi, err := os.Stat(p)
		if err != nil {
			return r.keep(err)
		}
		now[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	if r.cert != nil && now == r.stamp {
		return r.cert, r.pool, nil
	}
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return r.keep(fmt.Errorf("ssl certificate/key %s, %s: %w", r.files.Cert, r.files.Key, err))
	}
	ca, err := os.ReadFile(r.files.CA)
	if err != nil {
		return r.keep(fmt.Errorf("ssl CA: %w", err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return r.keep(fmt.Errorf("ssl CA: %s holds no PEM certificate", r.files.CA))
	}
	r.cert, r.pool, r.stamp = &cert, pool, now
	return r.cert, r.pool, nil
}

func (r *tlsReloader) keep(err error) (*tls.Certificate, *x509.CertPool, error) {
	if r.cert != nil {
		return r.cert, r.pool, nil
	}
	return nil, nil, err
}

func (r *tlsReloader) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	cert, _, err := r.current()
	return cert, err
}

// verify checks the server's chain against the CA, without host names.
func (r *tlsReloader) verify(cs tls.ConnectionState) error {
	_, pool, err := r.current()
	if err != nil {
		return err
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("ssl: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("ssl: server certificate (CN %q): %w", cs.PeerCertificates[0].Subject.CommonName, err)
	}
	return nil
}
