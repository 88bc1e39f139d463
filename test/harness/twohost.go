package harness

import (
	"fmt"
	"os/exec"
	"strings"
)

// TwoHost is scripts/twohost.sh: two simulated hosts (a and b: network
// namespaces with their own OVS, ovn-controller and libvirtd in private
// mount/UTS namespaces, a Geneve underlay) on one central NB/SB; nhost.sh
// (NHost) with two hosts, both with libvirtd, and no outside network.
type TwoHost struct {
	// Dir is the run directory (QN_TWOHOST_DIR); Hook the qemu hook
	// binary installed on both hosts (QN_TWOHOST_HOOK, "": none).
	Dir, Hook string
	// NetnsA and NetnsB name the hosts' network namespaces ("": the
	// script's defaults).
	NetnsA, NetnsB string
	// Vars is what `twohost.sh env` printed: remotes, chassis names,
	// sockets and libvirt URIs per host (QN_NB_REMOTE, QN_CHASSIS_A, ...).
	Vars map[string]string
	// Env gives the repository and the binaries; Up sets it.
	Env *Env
}

// ScriptEnv is the environment that points the scripts at these hosts.
func (th *TwoHost) ScriptEnv() []string {
	out := []string{"QN_TWOHOST_DIR=" + th.Dir, "QN_TWOHOST_HOOK=" + th.Hook} // empty: no hook
	if th.NetnsA != "" {
		out = append(out, "QN_TWOHOST_NETNS_A="+th.NetnsA)
	}
	if th.NetnsB != "" {
		out = append(out, "QN_TWOHOST_NETNS_B="+th.NetnsB)
	}
	return out
}

// Up brings both hosts up for e (twohost.sh up; idempotent: run it again
// after changing Hook), registers their down, and reads their Vars.
func (th *TwoHost) Up(e *Env) error {
	if th.Env == nil {
		e.Cleanup(func() {
			if out, err := th.Script("twohost.sh", "down"); err != nil {
				fmt.Printf("%s: twohost down: %v\n%s", e.Name, err, out)
			}
		})
	}
	th.Env = e
	if out, err := th.Script("twohost.sh", "up"); err != nil {
		return fmt.Errorf("twohost up: %v\n%s", err, Tail(out, 30))
	}
	out, err := th.Script("twohost.sh", "env")
	if err != nil {
		return fmt.Errorf("twohost env: %v\n%s", err, out)
	}
	th.Vars = ParseEnv(out, th.Vars)
	return nil
}

// Script runs scripts/name with these hosts' environment.
func (th *TwoHost) Script(name string, args ...string) (string, error) {
	return th.Env.Script(th.ScriptEnv(), name, args...)
}

// Var is a per-host variable of twohost.sh env: Var("QN_CHASSIS_", "a").
func (th *TwoHost) Var(prefix, host string) string { return th.Vars[prefix+strings.ToUpper(host)] }

// DaemonConfig is the config of host h's quantumnetd: inside the host
// (twohost.sh exec), on the host's OVS and chassis, which the script
// manages (Unmanaged), following the host's libvirtd, on the default
// socket, reached from outside through the host's root.
func (th *TwoHost) DaemonConfig(h string) DaemonConfig {
	return hostDaemonConfig(th.Env, th.Dir, th.Vars, h, "twohost.sh", th.ScriptEnv())
}

// Virsh runs virsh on host h's libvirtd.
func (th *TwoHost) Virsh(h string, args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", th.Var("QN_LIBVIRT_URI_", h)}, args...)...).CombinedOutput()
	return string(out), err
}
