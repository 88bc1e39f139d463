// Package tls_test runs quantumnetd with every database on ssl:, with
// certificates made by ovs-pki (a CN, no IP address): Northbound,
// Southbound and the local Open_vSwitch database are private ovsdb-servers
// on pssl: (pkg/ovsdbtest), ovn-northd joins them over ssl, and the
// daemon, a real binary, serves network and address requests through them.
// It needs no root.
package tls_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var env = harness.New(harness.Setup{Name: "tls", Binaries: []string{"quantumnetd", "qnetctl"}})

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// startNorthd runs ovn-northd between nb and sb over ssl, until the test ends.
func startNorthd(t *testing.T, nb, sb string, pki *ovsdbtest.PKI, c ovsdbtest.Cert) {
	t.Helper()
	dir, err := os.MkdirTemp("", "qntls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command(ovsdbtest.Require(t, "ovn-northd"), "--ovnnb-db="+nb, "--ovnsb-db="+sb,
		"--private-key="+c.Key, "--certificate="+c.Cert, "--ca-cert="+pki.CA,
		"--unixctl="+filepath.Join(dir, "northd.ctl"), "--no-chdir", "--log-file="+filepath.Join(dir, "northd.log"), "-vconsole:off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ovn-northd log:\n%s", harness.TailFile(filepath.Join(dir, "northd.log"), 20))
		}
	})
}

// copyFile replaces dst with src's contents atomically, as a rotation does.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".new", dst); err != nil {
		t.Fatal(err)
	}
}

func install(t *testing.T, c ovsdbtest.Cert, into ovsdbtest.Cert) {
	t.Helper()
	copyFile(t, c.Key, into.Key)
	copyFile(t, c.Cert, into.Cert)
}

// TestDaemonOverSSL: NB, SB and OVS on ssl: with ovs-pki certificates; the
// daemon connects to all three (it writes the chassis settings into the
// OVS database), creates a network that ovn-northd (over ssl too) carries
// into Southbound, and reserves an address. A client with a certificate of
// another CA is refused. After the daemon's files are rotated, first to a
// certificate of another CA (refused at the next connection), then to a
// new one of the CA, it reconnects with the new one, without a restart.
func TestDaemonOverSSL(t *testing.T) {
	env.Require(t)
	pki, other := ovsdbtest.NewPKI(t), ovsdbtest.NewPKI(t)
	nb, nbSSL := ovsdbtest.NewSSL(t, ovsdbtest.NBSchema, pki, pki.Issue("nb"))
	sb, sbSSL := ovsdbtest.NewSSL(t, ovsdbtest.SBSchema, pki, pki.Issue("sb"))
	ovsDB, ovsSSL := ovsdbtest.NewSSL(t, ovsdbtest.OVSSchema, pki, pki.Issue("ovs"))
	startNorthd(t, nbSSL, sbSSL, pki, pki.Issue("northd"))

	dir := t.TempDir()
	files := ovsdbtest.Cert{Key: filepath.Join(dir, "key.pem"), Cert: filepath.Join(dir, "cert.pem")}
	install(t, pki.Issue("daemon"), files)
	d := harness.LaunchDaemon(t, harness.DaemonConfig{Bin: env.Bin, NB: nbSSL, SB: sbSSL, OVS: ovsSSL,
		Chassis: "chassis-tls", LogLevel: "info", SSLKey: files.Key, SSLCert: files.Cert, SSLCA: pki.CA})
	client := d.MustClient()
	ctx := harness.Context(t)
	if _, err := client.CreateNetwork(ctx, &api.Network{Name: "tls-net", Subnet4: "10.31.0.0/24"}); err != nil {
		t.Fatalf("network create over ssl: %v", err)
	}
	r, err := client.IPAMReserve(ctx, &api.IPAMReserveRequest{Network: "tls-net", Owner: "o1"})
	if err != nil {
		t.Fatalf("IPAMReserve over ssl: %v", err)
	}
	t.Logf("reserved %s over ssl", r.Address)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return len(sb.Rows("Datapath_Binding", []string{"_uuid"})) > 0
	}, "ovn-northd (over ssl) never carried the network into Southbound")
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return ovsDB.Row("Open_vSwitch", []string{"external_ids"}).Map("external_ids")["system-id"] == "chassis-tls"
	}, "the daemon never wrote the chassis settings into the OVS database (ssl: ovs_remote)")
	if len(nb.Rows("Logical_Switch", []string{"name"})) != 1 {
		t.Fatal("no Logical_Switch in Northbound")
	}

	// ovsdb-server refuses a client of another CA; the right CA is let in.
	stranger := other.Issue("stranger")
	nbctl := func(c ovsdbtest.Cert) error {
		return exec.Command("ovn-nbctl", "--db="+nbSSL, "--timeout=3", "-p", c.Key, "-c", c.Cert, "-C", pki.CA, "ls-list").Run()
	}
	if err := nbctl(stranger); err == nil {
		t.Fatal("ovn-nbctl with a certificate of another CA was let in")
	}
	if err := nbctl(files); err != nil {
		t.Fatalf("ovn-nbctl with the daemon's certificate: %v", err)
	}

	rotate(t, d, nb, files, stranger, pki.Issue("daemon2"))
}

// rotate replaces the daemon's certificate files and forces a
// reconnection by restarting Northbound: a certificate of another CA is
// refused, a new one of the CA is accepted.
func rotate(t *testing.T, d *harness.Daemon, nb *ovsdbtest.Server, files, stranger, fresh ovsdbtest.Cert) {
	t.Helper()
	client := d.MustClient()
	reserve := func(owner string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := client.IPAMReserve(ctx, &api.IPAMReserveRequest{Network: "tls-net", Owner: owner})
		return err
	}
	install(t, stranger, files)
	nb.Stop()
	nb.Start()
	time.Sleep(3 * time.Second) // several redials
	if err := reserve("o2"); err == nil {
		t.Fatal("the daemon reserved an address with a certificate of another CA in its files")
	}
	install(t, fresh, files)
	ovsdbtest.Eventually(t, 20*time.Second, func() bool { return reserve("o3") == nil },
		"the daemon never reconnected with the rotated certificate")
}
