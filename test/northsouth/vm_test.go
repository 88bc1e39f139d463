package northsouth_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// guestTCPPort is where the test guest answers TCP connections with one
// line, "QNGUEST TCP host=NAME ip=ADDR up=S" (scripts/test-guest.sh,
// qntcp=PORT).
const guestTCPPort = 5007

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
	xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<metadata><quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
<quantumnet:interface id="%s" network="%s"/></quantumnet:network></metadata>
<features><acpi/></features>
<os><type arch='x86_64'>hvm</type><kernel>%s</kernel><initrd>%s</initrd><cmdline>console=ttyS0 qntcp=%d</cmdline></os>
<devices><interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'><parameters interfaceid='%s'/></virtualport>
<model type='virtio'/><driver name='qemu'><host csum='off'/></driver></interface>
<serial type='pty'><log file='%s' append='on'/></serial><console type='pty'/></devices></domain>`,
		name, v.iface, network, nh.Vars["QN_GUEST_KERNEL"], nh.Vars["QN_GUEST_INITRD"], guestTCPPort, v.iface, v.console)
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

var guestIPRE = regexp.MustCompile(`QNGUEST IP=([0-9.]+)/`)

// ip waits (120 s) until the guest reports its address by DHCP on the
// console and returns it.
func (v *vm) ip(t *testing.T) string {
	t.Helper()
	var ip string
	ovsdbtest.Eventually(t, 120*time.Second, func() bool {
		b, _ := os.ReadFile(v.console)
		if m := guestIPRE.FindSubmatch(b); m != nil {
			ip = string(m[1])
			return true
		}
		return false
	}, "VM "+v.name+" never got an address by DHCP (console "+v.console+")")
	t.Logf("VM %s: address %s by DHCP %v after virsh start", v.name, ip, time.Since(v.started).Round(100*time.Millisecond))
	return ip
}
