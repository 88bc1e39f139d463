package crash

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// maxVMs is how many domains the matrix defines; they stay defined (the
// daemon's libvirt watcher is off, so nothing undefines them) and are
// started (prepare) and stopped (release) in turn.
const maxVMs = 3

// vmDom is a defined libvirt domain: two NICs on baseNet, the addresses
// its ports got the first time it was prepared (kept while it is
// defined, across kills), and whether it runs.
type vmDom struct {
	name, uuid string
	ifaces     []string // interfaceids
	macs       []string
	addrs      map[string]string // interfaceid -> the port's addresses
	running    bool
}

func newVM(n int) *vmDom {
	v := &vmDom{name: fmt.Sprintf("crash-vm%d", n), uuid: fmt.Sprintf("c0a5e000-0000-4000-8000-%012d", n), addrs: map[string]string{}}
	for i := 0; i < 2; i++ {
		v.ifaces = append(v.ifaces, fmt.Sprintf("c0a5e%03d-%04d-4000-8000-000000000000", n, i))
		v.macs = append(v.macs, fmt.Sprintf("52:54:00:c5:%02x:%02x", n%256, i))
	}
	return v
}

// xml is the domain XML libvirt hands the hook.
func (v *vmDom) xml() string {
	var meta, devs strings.Builder
	for i, id := range v.ifaces {
		fmt.Fprintf(&meta, "<quantumnet:interface id=%q network=%q/>\n", id, baseNet)
		fmt.Fprintf(&devs, `<interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'>`+
			`<parameters interfaceid='%s'/></virtualport><mac address='%s'/><model type='virtio'/></interface>`+"\n", id, v.macs[i])
	}
	return fmt.Sprintf(`<domain type='qemu'><name>%s</name><uuid>%s</uuid><memory unit='MiB'>64</memory>
<metadata><quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
%s</quantumnet:network></metadata><os><type arch='x86_64'>hvm</type></os><devices>
%s</devices></domain>`, v.name, v.uuid, meta.String(), devs.String())
}

// hook runs the qemu hook as libvirtd does (the domain XML on stdin, the
// daemon's socket from its config file); its failure is an error (exit
// code not 0) or, for release (which always exits 0), what it printed.
func (w *world) hook(v *vmDom, event, sub string) error {
	cmd := exec.Command(filepath.Join(env.Bin, "quantumnet-qemu-hook"), v.name, event, sub, "-")
	cmd.Env = append(os.Environ(), "QUANTUMNET_CONFIG="+w.d.ConfigPath)
	cmd.Stdin = strings.NewReader(v.xml())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil && strings.Contains(out.String(), "quantumnet:") {
		err = fmt.Errorf("%s", strings.TrimSpace(out.String()))
	} else if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()))
	}
	return err
}

// opVM starts a domain (prepare; a new one while fewer than maxVMs are
// defined) or stops a running one (release). Once the daemon is back,
// libvirt's part is retried: prepare again (the domain is to run),
// release again (it is to stop); each must succeed, and a domain keeps
// its ports' addresses across all of it.
func (w *world) opVM() op {
	var stopped, running []*vmDom
	for _, v := range w.vms {
		if v.running {
			running = append(running, v)
		} else {
			stopped = append(stopped, v)
		}
	}
	if len(running) > 0 && (w.rnd.Intn(2) == 0 || len(stopped) == 0 && len(w.vms) == maxVMs) {
		v := running[w.rnd.Intn(len(running))]
		return op{kind: "vm-release", run: func() error { return w.hook(v, "release", "end") },
			recover: func(bool) {
				if err := w.hook(v, "release", "end"); err != nil {
					w.t.Errorf("release %s again after a crash: %v", v.name, err)
				}
				v.running = false
			}}
	}
	var v *vmDom
	if len(w.vms) < maxVMs && (len(stopped) == 0 || w.rnd.Intn(2) == 0) {
		w.next++
		v = newVM(w.next)
		w.vms = append(w.vms, v)
	} else {
		v = stopped[w.rnd.Intn(len(stopped))]
	}
	return op{kind: "vm-prepare", run: func() error { return w.hook(v, "prepare", "begin") },
		recover: func(bool) {
			if err := w.hook(v, "prepare", "begin"); err != nil {
				w.t.Errorf("prepare %s again after a crash: %v", v.name, err)
			}
			v.running = true
		}}
}

// vmPorts (for check): one VM logical port per NIC of the defined
// domains and no other; each keeps the addresses it first got.
func (w *world) vmPorts() string {
	got := map[string]string{}
	out := sbx.Tool(w.t, "ovn-nbctl", "--bare", "--columns=name,addresses", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:kind=vm")
	for _, rec := range strings.Split(strings.TrimSpace(out), "\n\n") {
		if f := strings.SplitN(strings.TrimSpace(rec), "\n", 2); len(f) == 2 {
			if _, dup := got[f[0]]; dup {
				return fmt.Sprintf("two VM logical ports named %s", f[0])
			}
			got[f[0]] = strings.Trim(strings.TrimSpace(f[1]), `"`)
		}
	}
	var want []string
	for _, v := range w.vms {
		want = append(want, v.ifaces...)
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		return fmt.Sprintf("VM logical ports %v, want %v", names, want)
	}
	for _, v := range w.vms {
		for i, id := range v.ifaces {
			a := got[id]
			if !strings.Contains(a, v.macs[i]) {
				return fmt.Sprintf("VM port %s has addresses %q, not its MAC %s", id, a, v.macs[i])
			}
			if prev, ok := v.addrs[id]; ok && prev != a {
				return fmt.Sprintf("VM port %s of %s: addresses %q, before the kill %q", id, v.name, a, prev)
			}
			v.addrs[id] = a
		}
	}
	return ""
}

// vmNICs is how many addresses the defined domains hold on baseNet.
func (w *world) vmNICs() int {
	n := 0
	for _, v := range w.vms {
		n += len(v.ifaces)
	}
	return n
}

// deleteVMs stands for undefining every domain (libvirt is not there to
// tell the daemon): their logical ports go, so that their network can.
func (w *world) deleteVMs() {
	for _, v := range w.vms {
		for _, id := range v.ifaces {
			exec.Command("ovn-nbctl", "--db="+sbx.NB(), "--if-exists", "lsp-del", id).Run()
		}
	}
	w.vms = nil
}
