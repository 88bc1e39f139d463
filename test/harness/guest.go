package harness

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// GuestTCPPort is where the test guest answers TCP connections with one
// line, "QNGUEST TCP host=NAME ip=ADDR up=S", when its Cmdline has
// qntcp=PORT (scripts/test-guest.sh).
const GuestTCPPort = 5007

// Guest is the test guest (scripts/test-guest.sh: a kernel and an initrd,
// no disk) as a libvirt domain with one NIC on a QuantumNet network, named
// in the domain's metadata as a user would.
type Guest struct {
	Name, Iface, Network string
	// MAC of the NIC; "" lets libvirt pick one.
	MAC string
	// Cmdline is added to the kernel's: qnping=ADDR (ping ADDR from inside,
	// so that the first packet binds the port), qntcp=PORT.
	Cmdline string
	// Kernel and Initrd are test-guest.sh's (QN_GUEST_KERNEL,
	// QN_GUEST_INITRD); Console the file the serial console is logged to.
	Kernel, Initrd, Console string
}

// XML is the guest's domain: QEMU TCG, 128 MiB, one vCPU.
func (g Guest) XML() string {
	mac := ""
	if g.MAC != "" {
		mac = fmt.Sprintf("<mac address='%s'/>", g.MAC)
	}
	return fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<metadata><quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
<quantumnet:interface id="%s" network="%s"/></quantumnet:network></metadata>
<features><acpi/></features>
<os><type arch='x86_64'>hvm</type><kernel>%s</kernel><initrd>%s</initrd><cmdline>console=ttyS0 %s</cmdline></os>
<devices><interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'><parameters interfaceid='%s'/></virtualport>
%s<model type='virtio'/><driver name='qemu'><host csum='off'/></driver></interface>
<serial type='pty'><log file='%s' append='on'/></serial><console type='pty'/></devices></domain>`,
		g.Name, g.Iface, g.Network, g.Kernel, g.Initrd, g.Cmdline, g.Iface, mac, g.Console)
}

var guestIPRE = regexp.MustCompile(`QNGUEST IP=([0-9.]+)/`)

// GuestIP waits up to timeout until the guest logging its console to
// console reports the address DHCP gave it, and returns it.
func GuestIP(t testing.TB, console string, timeout time.Duration) string {
	t.Helper()
	var ip string
	ovsdbtest.Eventually(t, timeout, func() bool {
		b, _ := os.ReadFile(console)
		if m := guestIPRE.FindSubmatch(b); m != nil {
			ip = string(m[1])
		}
		return ip != ""
	}, "the guest never got an address by DHCP (console "+console+")")
	return ip
}
