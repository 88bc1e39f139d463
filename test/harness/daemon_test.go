package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/config"
)

// TestDaemonConfigTOML: what the launcher writes is a valid quantumnetd
// config (the daemon's own parser, unknown keys refused) saying what the
// DaemonConfig says, for each shape the tests and benchmarks use.
func TestDaemonConfigTOML(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      DaemonConfig
		manage bool
		check  func(t *testing.T, got config.Config)
	}{
		{"NB only (IPAM)", DaemonConfig{Dir: "/tmp/qnd1", NB: "unix:/tmp/nb.sock", Chassis: "chassis-1", LogLevel: "warn", Socket: "/tmp/qnd1/q.sock"}, false,
			func(t *testing.T, got config.Config) {
				if got.OVN.SBRemotes[0] != "unix:/tmp/qnd1/none-sb.sock" || got.Chassis.OVSRemote != "unix:/tmp/qnd1/none-ovs.sock" || got.Daemon.LogLevel != "warn" {
					t.Errorf("absent SB/OVS or log level: %+v", got)
				}
			}},
		{"sandbox", DaemonConfig{Dir: "/tmp/qnd2", NB: "unix:/s/nb.sock", SB: "unix:/s/sb.sock", OVS: "unix:/s/db.sock", Chassis: "chassis-e2e",
			DatapathType: "netdev", Socket: "/tmp/qnd2/q.sock", LogLevel: "debug", ReadyTimeout: "15s", Extra: "[dns]\nupstream = [\"192.0.2.53\"]\n",
			HTTPListen: "127.0.0.1:9476", Console: true}, true,
			func(t *testing.T, got config.Config) {
				if got.Daemon.ReadyTimeout.Duration != 15*time.Second || got.Chassis.DatapathType != "netdev" || len(got.DNS.Upstream) != 1 ||
					got.HTTP.Listen != "127.0.0.1:9476" || !got.HTTP.Console {
					t.Errorf("ready timeout, datapath, http listen or extra TOML lost: %+v", got)
				}
			}},
		{"two hosts", DaemonConfig{Dir: "/tmp/th", NB: "tcp:10.0.0.1:6641", SB: "tcp:10.0.0.1:6642", OVS: "unix:/th/a/db.sock", Chassis: "chassis-a",
			EncapIP: "192.0.2.1", DatapathType: "netdev", Unmanaged: true, Socket: "/run/quantumnet/quantumnetd.sock", LogLevel: "debug",
			ReadyTimeout: "5s", Libvirt: "qemu:///system"}, false,
			func(t *testing.T, got config.Config) {
				if got.Chassis.EncapIP != "192.0.2.1" || got.Libvirt.URI != "qemu:///system" || got.Daemon.Socket != "/run/quantumnet/quantumnetd.sock" {
					t.Errorf("encap IP, libvirt or socket lost: %+v", got)
				}
			}},
		{"nhost chassis without libvirt, outside mapped", hostDaemonConfig(&Env{Bin: "/b", Repo: "/r"}, "/tmp/nh", map[string]string{
			"QN_NB_REMOTE": "unix:/nh/nb.sock", "QN_SB_REMOTE": "unix:/nh/sb.sock", "QN_OVS_REMOTE_C": "unix:/nh/c/db.sock",
			"QN_CHASSIS_C": "chassis-c", "QN_QUANTUMNETD_SOCKET_C": "/tmp/nh/c/quantumnetd.sock", "QN_LIBVIRT_HOSTS": "a b",
			"QN_BRIDGE_MAPPINGS": "physnet1:br-ex"}, "c", "nhost.sh", nil), false,
			func(t *testing.T, got config.Config) {
				if *got.Libvirt.Enabled || len(got.Chassis.BridgeMappings) != 1 || got.Chassis.BridgeMappings[0] != "physnet1:br-ex" {
					t.Errorf("libvirt not off or bridge mappings lost: %+v", got)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := config.Defaults()
			text := tc.c.TOML()
			if err := config.Parse(text, &got); err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if got.OVN.NBRemotes[0] != tc.c.NB || got.Chassis.Name != tc.c.Chassis || got.Daemon.Socket != tc.c.Socket || *got.Chassis.Manage != tc.manage {
				t.Errorf("NB, chassis, socket or manage lost:\n%s\n%+v", text, got)
			}
			if !strings.HasSuffix(text, tc.c.Extra) {
				t.Errorf("extra TOML not last:\n%s", text)
			}
			tc.check(t, got)
		})
	}
}
