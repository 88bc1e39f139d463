package northsouth_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// vm is a test guest on vmHost's libvirtd with one NIC on a network.
type vm struct {
	name, iface, console string
	started              time.Time
}

// startVM defines and starts the test guest name on vmHost with one NIC on
// network; it does not wait for the boot (QEMU's TCG: seconds), so a test
// goes on meanwhile and calls ip later. When the test ends the VM is
// destroyed and undefined, and its port waited for to go.
func startVM(t *testing.T, name, network string) *vm {
	t.Helper()
	v := &vm{name: name, iface: harness.UUID(), console: filepath.Join(nh.Dir, name+".console")}
	xml := harness.Guest{Name: name, Iface: v.iface, Network: network, Cmdline: fmt.Sprintf("qntcp=%d", harness.GuestTCPPort),
		Kernel: nh.Vars["QN_GUEST_KERNEL"], Initrd: nh.Vars["QN_GUEST_INITRD"], Console: v.console}.XML()
	path := filepath.Join(nh.Dir, name+".xml")
	if err := os.WriteFile(path, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := nh.Virsh(vmHost, "define", path); err != nil {
		t.Fatalf("virsh define: %v %s", err, out)
	}
	t.Cleanup(func() {
		nh.Virsh(vmHost, "destroy", name)  //nolint:errcheck
		nh.Virsh(vmHost, "undefine", name) //nolint:errcheck
		// The daemon releases the port following libvirt's events: wait,
		// or the network's deletion (an earlier cleanup) is refused.
		ovsdbtest.Eventually(t, 20*time.Second, func() bool {
			out, _ := exec.Command("ovn-nbctl", "--db="+nh.Vars["QN_NB_REMOTE"], "--if-exists", "get", "Logical_Switch_Port", v.iface, "name").CombinedOutput()
			return strings.TrimSpace(string(out)) == ""
		}, "the undefined VM's port "+v.iface+" was not released")
	})
	v.started = time.Now()
	if out, err := nh.Virsh(vmHost, "start", name); err != nil {
		t.Fatalf("virsh start: %v %s", err, out)
	}
	return v
}

// ip waits (120 s) until the guest reports its address by DHCP on the
// console and returns it.
func (v *vm) ip(t *testing.T) string {
	t.Helper()
	ip := harness.GuestIP(t, v.console, 120*time.Second)
	t.Logf("VM %s: address %s by DHCP %v after virsh start", v.name, ip, time.Since(v.started).Round(100*time.Millisecond))
	return ip
}
