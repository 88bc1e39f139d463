package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// vm is the guest one mode migrates back and forth.
type vm struct {
	name, iface, mac, ip string
	fip                  string // its floating IP ("": none)
	console              string
	host                 string // where it runs now
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// domainXML: the test guest (scripts/test-guest.sh: DHCP on eth0, then
// idle) with one virtio NIC on br-int. With qnMeta it is QuantumNet's
// (the hook and the daemons handle it); without, the NIC is a plain
// openvswitch port whose logical port the benchmark manages itself.
func (b *bench) domainXML(v *vm, qnMeta bool) string {
	meta := ""
	if qnMeta {
		meta = fmt.Sprintf(`<metadata><quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
<quantumnet:interface id="%s" network="%s"/></quantumnet:network></metadata>`, v.iface, network)
	}
	return fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
%s
<features><acpi/></features>
<os><type arch='x86_64'>hvm</type><kernel>%s</kernel><initrd>%s</initrd><cmdline>console=ttyS0</cmdline></os>
<devices><interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'><parameters interfaceid='%s'/></virtualport>
<mac address='%s'/><model type='virtio'/><driver name='qemu'><host csum='off'/></driver></interface>
<serial type='pty'><log file='%s' append='off'/></serial><console type='pty'/></devices></domain>`,
		v.name, meta, b.env["QN_GUEST_KERNEL"], b.env["QN_GUEST_INITRD"], v.iface, v.mac, v.console)
}

var ipRE = regexp.MustCompile(`QNGUEST IP=([0-9.]+)/`)

// bootVM defines and starts v on host A and waits until the container
// reaches it.
func (b *bench) bootVM(ctx context.Context, v *vm, qnMeta bool) error {
	xmlPath := filepath.Join(b.tmp, v.name+".xml")
	if err := os.WriteFile(xmlPath, []byte(b.domainXML(v, qnMeta)), 0o644); err != nil {
		return err
	}
	if out, err := b.virsh(ctx, "a", time.Minute, "define", xmlPath); err != nil {
		return fmt.Errorf("virsh define %s: %v %s", v.name, err, out)
	}
	b.vms[v.name] = v
	v.host = "a"
	if out, err := b.virsh(ctx, "a", 2*time.Minute, "start", v.name); err != nil {
		return fmt.Errorf("virsh start %s: %v %s", v.name, err, out)
	}
	var got string
	if !ovsdbtest.Until(ctx, 120*time.Second, func() bool {
		c, _ := os.ReadFile(v.console)
		if m := ipRE.FindStringSubmatch(string(c)); m != nil {
			got = m[1]
			return true
		}
		return false
	}) {
		return fmt.Errorf("VM %s never got an address by DHCP; console:\n%s", v.name, harness.TailFile(v.console, 15))
	}
	if v.ip != "" && got != v.ip {
		return fmt.Errorf("VM %s got %s by DHCP, expected %s", v.name, got, v.ip)
	}
	v.ip = got
	if !ovsdbtest.Until(ctx, 30*time.Second, func() bool { return b.pingOnce(ctx, v.ip) }) {
		return fmt.Errorf("the container on host B cannot reach VM %s (%s) on host A", v.name, v.ip)
	}
	return nil
}

// removeVM destroys and undefines v wherever it is.
func (b *bench) removeVM(v *vm) {
	ctx := context.Background()
	for _, h := range []string{"a", "b"} {
		if st, err := b.virsh(ctx, h, 30*time.Second, "domstate", v.name); err == nil {
			if !strings.Contains(st, "shut off") {
				b.virsh(ctx, h, time.Minute, "destroy", v.name)
			}
			b.virsh(ctx, h, time.Minute, "undefine", v.name)
		}
	}
	delete(b.vms, v.name)
}

var (
	downtimeRE    = regexp.MustCompile(`Total downtime:\s+(\d+)\s+ms`)
	downtimeNetRE = regexp.MustCompile(`Downtime w/o network:\s+(\d+)\s+ms`)
	elapsedRE     = regexp.MustCompile(`Time elapsed:\s+(\d+)\s+ms`)
)

// jobInfo reads the completed migration job's statistics on the
// destination. libvirt keeps them on the incoming domain after a
// successful migration (the source's domain is gone with
// --undefinesource); reading them without --keep-completed drops them.
// "Total downtime" is computed there by libvirt right after it resumed
// the guest's CPUs: now - the time the source stopped them (from the
// migration cookie), i.e. the guest's whole pause, source stop to
// destination resume.
func (b *bench) jobInfo(ctx context.Context, h, name string) (downtime, downtimeNet, elapsed time.Duration, raw string, err error) {
	out, err := b.virsh(ctx, h, 30*time.Second, "domjobinfo", "--completed", "--keep-completed", name)
	raw = strings.Join(strings.Fields(out), " ")
	if err != nil {
		return 0, 0, 0, raw, fmt.Errorf("virsh domjobinfo --completed on host %s: %v %s", h, err, raw)
	}
	ms := func(re *regexp.Regexp) time.Duration {
		if m := re.FindStringSubmatch(out); m != nil {
			n, _ := strconv.Atoi(m[1])
			return time.Duration(n) * time.Millisecond
		}
		return -1
	}
	downtime, downtimeNet, elapsed = ms(downtimeRE), ms(downtimeNetRE), ms(elapsedRE)
	if downtime < 0 {
		return 0, 0, 0, raw, fmt.Errorf("no Total downtime in domjobinfo on host %s: %s", h, raw)
	}
	return downtime, downtimeNet, elapsed, raw, nil
}

// ---------------------------------------------------------------- naive CMS

// naivePort creates what a naive CMS would: a DHCP_Options row like the
// daemon's and the VM's logical port (name = interfaceid, "MAC IP",
// port security, DHCP, requested-chassis = the host it starts on).
func (b *bench) naivePort(ctx context.Context, v *vm, chassis string) error {
	opts := fmt.Sprintf(`{server_id=%s, server_mac="0a:51:4f:00:00:01", lease_time="3600", router=%s, mtu="%d"}`, gateway4, gateway4, mtu)
	id, err := b.nbctl(ctx, "create", "DHCP_Options", "cidr="+subnet4, "options="+opts, "external_ids:migbench=naive")
	if err != nil {
		return fmt.Errorf("ovn-nbctl create DHCP_Options: %v %s", err, id)
	}
	addr := v.mac + " " + v.ip
	if out, err := b.nbctl(ctx, "lsp-add", "qn-"+network, v.iface,
		"--", "lsp-set-addresses", v.iface, addr,
		"--", "lsp-set-port-security", v.iface, addr,
		"--", "lsp-set-dhcpv4-options", v.iface, id,
		"--", "set", "Logical_Switch_Port", v.iface, "options:requested-chassis="+chassis, "external_ids:migbench=naive"); err != nil {
		return fmt.Errorf("ovn-nbctl lsp-add: %v %s", err, out)
	}
	return nil
}

// nbGet reads a column of the VM's logical port.
func (b *bench) nbGet(ctx context.Context, port, col string) string {
	out, _ := b.nbctl(ctx, "--if-exists", "get", "Logical_Switch_Port", port, col)
	return strings.Trim(out, `"`)
}
