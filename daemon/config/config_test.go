package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleParsesToDefaults(t *testing.T) {
	c := Defaults()
	if err := Parse(Example, &c); err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.Chassis.Name != d.Chassis.Name || c.Daemon.ReadyTimeout != d.Daemon.ReadyTimeout || c.OVN.NBRemotes[0] != d.OVN.NBRemotes[0] {
		t.Fatalf("example differs from defaults: %+v", c)
	}
}

func TestValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct{ text, field string }{
		{`[ovn]
nb_remotes = ["http://x"]`, "ovn.nb_remotes"},
		{`[ovn]
nb_remotes = []`, "ovn.nb_remotes"},
		{`[ovn]
sb_remotes = ["tcp:10.0.0.1"]`, "ovn.sb_remotes"},
		{`[ovn]
nb_remotes = ["ssl:10.0.0.1:6641"]`, "ovn.ssl_key"},
		{`[ovn]
gateway_bfd_interval = "5ms"`, "ovn.gateway_bfd_interval"},
		{`[ovn]
gateway_bfd_interval = "100ms"
gateway_bfd_mult = 300`, "ovn.gateway_bfd_mult"},
		// An ssl: local OVS database needs the TLS files too (it was
		// accepted, then dialled without TLS).
		{`[chassis]
ovs_remote = "ssl:127.0.0.1:6640"`, "chassis.ovs_remote"},
		{`[chassis]
name = "bad name"`, "chassis.name"},
		{`[chassis]
encap_type = "gre"`, "chassis.encap_type"},
		{`[dns]
upstream = ["dns.example"]`, "dns.upstream"},
		{`[dns]
upstream = ["192.0.2.53:0"]`, "dns.upstream"},
		{`[chassis]
encap_ip = "x"`, "chassis.encap_ip"},
		{`[chassis]
datapath_type = "dpdk"`, "chassis.datapath_type"},
		{`[chassis]
bridge_mappings = ["nobridge"]`, "chassis.bridge_mappings"},
		{`[daemon]
socket = "relative.sock"`, "daemon.socket"},
		{`[daemon]
log_level = "loud"`, "daemon.log_level"},
		{`[daemon]
ready_timeout = "1h"`, "daemon.ready_timeout"},
		{`[daemon]
mac_prefix = "01:00:00"`, "daemon.mac_prefix"},
		{`[daemon]
sokcet = "/x"`, "daemon.sokcet"},
		{`[daemon
`, "line"},
	} {
		c := Defaults()
		err := Parse(tc.text, &c)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: got %v, want an error naming %s", tc.text, err, tc.field)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none.toml"), true); err == nil {
		t.Fatal("missing explicit file accepted")
	}
	if _, err := Load(filepath.Join(dir, "none.toml"), false); err != nil {
		t.Fatalf("missing default file: %v", err)
	}
	p := filepath.Join(dir, "q.toml")
	os.WriteFile(p, []byte("[chassis]\nname = \"chassis-x\"\n[ovn]\nnb_remotes = [\"tcp:10.0.0.1:6641\", \"tcp:10.0.0.2:6641\"]\n"), 0o600)
	c, err := Load(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Chassis.Name != "chassis-x" || len(c.OVN.NBRemotes) != 2 || c.Chassis.IntegrationBridge != "br-int" {
		t.Fatalf("got %+v", c)
	}
}

// TestSwitchesAreIndependent: turning one boolean off leaves the others on.
func TestSwitchesAreIndependent(t *testing.T) {
	c := Defaults()
	if err := Parse("[chassis]\nmanage = false\n", &c); err != nil {
		t.Fatal(err)
	}
	if *c.Chassis.Manage || !*c.Libvirt.Enabled {
		t.Fatalf("manage=%v libvirt.enabled=%v, want false and true", *c.Chassis.Manage, *c.Libvirt.Enabled)
	}
	c = Defaults()
	if err := Parse("[libvirt]\nenabled = false\n", &c); err != nil {
		t.Fatal(err)
	}
	if !*c.Chassis.Manage || *c.Libvirt.Enabled {
		t.Fatalf("manage=%v libvirt.enabled=%v, want true and false", *c.Chassis.Manage, *c.Libvirt.Enabled)
	}
}
