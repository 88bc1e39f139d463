package portmap

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/netnstest"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

func save(t *testing.T, cmd string) string {
	out, err := exec.Command(cmd + "-save").CombinedOutput()
	if err != nil {
		t.Errorf("%s-save: %v\n%s", cmd, err, out)
	}
	return string(out)
}

func TestIntegrationSyncRules(t *testing.T) {
	if _, err := exec.LookPath("ip6tables"); err != nil {
		t.Skip("iptables is not installed")
	}
	netnstest.InFresh(t, func() {
		e := Entry{Port: "qn-c-a", Addrs: []netip.Addr{netip.MustParseAddr("10.250.0.5"), netip.MustParseAddr("fd00::5")},
			Mappings: []ovn.PortMapping{{Protocol: "tcp", HostPort: 8080, ContainerPort: 80}, {Protocol: "udp", HostPort: 8080, ContainerPort: 80}}}
		for _, f := range []Family{V4, V6} {
			tb, err := NewTables(f)
			if err != nil {
				t.Error(err)
				return
			}
			cmd := map[Family]string{V4: "iptables", V6: "ip6tables"}[f]
			if n, err := Sync(tb, Desired(f, []Entry{e})); err != nil || n == 0 {
				t.Errorf("%s first sync: %d chains, %v", f, n, err)
			}
			dump := save(t, cmd)
			for _, want := range []string{"--dport 8080 -j DNAT", "-A PREROUTING -m addrtype --dst-type LOCAL -j QN-HOSTPORTS", "-A OUTPUT -j QN-MGMT", "-j MASQUERADE"} {
				if !strings.Contains(dump, want) {
					t.Errorf("%s: %q missing:\n%s", f, want, dump)
				}
			}
			// In sync: nothing rewritten, no duplicate jump.
			if n, err := Sync(tb, Desired(f, []Entry{e})); err != nil || n != 0 {
				t.Errorf("%s second sync rewrote %d chains (%v): the canonical form drifted", f, n, err)
			}
			// A stale rule goes, a missing one comes back.
			if err := tb.Append("nat", ChainHostPorts, "-p", "tcp", "-m", "tcp", "--dport", "9999", "-j", "DNAT", "--to-destination", map[Family]string{V4: "10.9.9.9:1", V6: "[fd00::9]:1"}[f]); err != nil {
				t.Error(err)
			}
			if err := tb.DeleteIfExists("nat", ChainHostPorts, DNATRules(f, []Entry{e})[0].Spec...); err != nil {
				t.Error(err)
			}
			if err := tb.DeleteIfExists("nat", "PREROUTING", Jumps[0].Spec...); err != nil {
				t.Error(err)
			}
			if n, err := Sync(tb, Desired(f, []Entry{e})); err != nil || n != 1 {
				t.Errorf("%s repair: %d chains, %v", f, n, err)
			}
			dump = save(t, cmd)
			if strings.Contains(dump, "9999") || !strings.Contains(dump, "-p tcp -m comment --comment qn-c-a -m tcp --dport 8080") ||
				!strings.Contains(dump, "-A PREROUTING -m addrtype") {
				t.Errorf("%s after repair:\n%s", f, dump)
			}
			// The entry goes: its rules go.
			if _, err := Sync(tb, Desired(f, nil)); err != nil {
				t.Error(err)
			}
			if dump = save(t, cmd); strings.Contains(dump, "qn-c-a") {
				t.Errorf("%s: rules of a removed entry remain:\n%s", f, dump)
			}
			if err := Remove(tb); err != nil { // twice: idempotent
				t.Error(err)
			}
			if err := Remove(tb); err != nil {
				t.Error(err)
			}
			if dump = save(t, cmd); strings.Contains(dump, "QN-") {
				t.Errorf("%s: chains remain after Remove:\n%s", f, dump)
			}
		}
	})
}
