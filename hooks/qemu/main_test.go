package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/vmxml"
)

const domXML = `<domain type='qemu'><name>web1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<metadata><qn:network xmlns:qn="` + vmxml.Namespace + `"><qn:interface id="aaaaaaaa-0000-4000-8000-000000000001" network="blue"/></qn:network></metadata>
<devices><interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'><parameters interfaceid='aaaaaaaa-0000-4000-8000-000000000001'/></virtualport><mac address='52:54:00:00:00:01'/></interface></devices></domain>`

func hook(t *testing.T, op, xml string) (int, string, string) {
	t.Helper()
	t.Setenv("QUANTUMNET_SOCKET", t.TempDir()+"/absent.sock")
	t.Setenv("QUANTUMNET_CONFIG", t.TempDir()+"/absent.toml") // not this host's config
	var out, errb bytes.Buffer
	code := run([]string{"web1", op, "begin", "-"}, strings.NewReader(xml), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHook(t *testing.T) {
	// restore: the XML passes through unchanged; migrate too, for a domain
	// without QuantumNet NICs.
	if code, out, _ := hook(t, "restore", domXML); code != 0 || out != domXML {
		t.Errorf("restore: code %d, stdout changed", code)
	}
	plainXML := `<domain type='qemu'><name>other</name><devices/></domain>`
	if code, out, _ := hook(t, "migrate", plainXML); code != 0 || out != plainXML {
		t.Errorf("migrate of a foreign domain: code %d, stdout %q", code, out)
	}
	// migrate of a QuantumNet domain with the daemon down refuses the migration.
	if code, out, errs := hook(t, "migrate", domXML); code != 1 || out != "" || !strings.Contains(errs, "not reachable") {
		t.Errorf("migrate with the daemon down: code %d, stdout %q, stderr %q", code, out, errs)
	}
	// The daemon is down: prepare and start fail naming the domain; the
	// others never fail (a failing reconnect would kill the VM).
	for _, op := range []string{"prepare", "start"} {
		code, out, errs := hook(t, op, domXML)
		if code != 1 || out != "" || !strings.Contains(errs, "web1") || !strings.Contains(errs, "not reachable") {
			t.Errorf("%s with the daemon down: code %d, stderr %q", op, code, errs)
		}
	}
	for _, op := range []string{"started", "stopped", "release", "reconnect"} {
		if code, out, _ := hook(t, op, domXML); code != 0 || out != "" {
			t.Errorf("%s with the daemon down: code %d", op, code)
		}
	}
	// A domain without QuantumNet NICs needs no daemon.
	plain := `<domain type='qemu'><name>other</name><devices><interface type='network'><source network='default'/></interface></devices></domain>`
	if code, _, errs := hook(t, "prepare", plain); code != 0 {
		t.Errorf("foreign domain: code %d %s", code, errs)
	}
	// A NIC on br-int without metadata is refused before any RPC.
	bad := strings.Replace(domXML, `id="aaaaaaaa-0000-4000-8000-000000000001"`, `id="zzzz"`, 1)
	code, _, errs := hook(t, "prepare", bad)
	if code != 1 || !strings.Contains(errs, "domain web1: NIC aaaaaaaa-0000-4000-8000-000000000001") {
		t.Errorf("bad metadata: code %d, stderr %q", code, errs)
	}
	if code, _, _ := hook(t, "reconnect", bad); code != 0 {
		t.Errorf("reconnect with bad metadata must still exit 0, got %d", code)
	}
}

// libvirtd runs the hook with a cleaned environment: with a non-default
// integration bridge and socket in the daemon's config file, the hook must
// still see the VM's NIC (not skip it silently) and dial the configured
// socket.
func TestHookReadsDaemonConfig(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "custom.sock")
	conf := filepath.Join(dir, "quantumnetd.toml")
	body := "[ovn]\nnb_remotes = [\"tcp:127.0.0.1:6641\"]\n[chassis]\nname = \"h1\"\nintegration_bridge = \"br-qn\"\n" +
		"[daemon]\nsocket = \"" + sock + "\"\nlog_level = \"debug\"\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	old := ConfigPath
	ConfigPath = conf
	t.Cleanup(func() { ConfigPath = old })
	for _, k := range []string{"QUANTUMNET_SOCKET", "QUANTUMNET_BRIDGE", "QUANTUMNET_CONFIG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	xml := strings.ReplaceAll(domXML, "br-int", "br-qn")
	var out, errb bytes.Buffer
	code := run([]string{"web1", "prepare", "begin", "-"}, strings.NewReader(xml), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), sock) {
		t.Fatalf("prepare of a VM on the configured bridge br-qn: code %d, stderr %q; want a dial of %s (the daemon is down)",
			code, errb.String(), sock)
	}
	set, err := loadSettings()
	if err != nil || set.Bridge != "br-qn" || set.Socket != sock {
		t.Fatalf("loadSettings = %+v, %v; want br-qn and %s", set, err, sock)
	}
	// The environment still wins (a hook run by hand).
	t.Setenv("QUANTUMNET_BRIDGE", "br-x")
	if set, _ := loadSettings(); set.Bridge != "br-x" {
		t.Fatalf("QUANTUMNET_BRIDGE ignored: %+v", set)
	}
	// A malformed config is an error, not a silent default.
	if err := os.WriteFile(conf, []byte("[chassis\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSettings(); err == nil {
		t.Fatal("a malformed config file was accepted")
	}
}

// TestRequestLoadBalancers: the metadata's load-balancers reach the
// daemon request of the NIC.
func TestRequestLoadBalancers(t *testing.T) {
	x := strings.Replace(domXML, `network="blue"/>`, `network="blue" load-balancers="web,api"/>`, 1)
	dom, err := vmxml.Parse([]byte(x), "br-int")
	if err != nil {
		t.Fatal(err)
	}
	req := request(dom, "prepare")
	if req.Domain != "web1" || req.Event != "prepare" || len(req.Nics) != 1 ||
		strings.Join(req.Nics[0].LoadBalancers, ",") != "web,api" || req.Nics[0].Network != "blue" {
		t.Fatalf("request %v", req)
	}
}
