package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// NHost is scripts/nhost.sh: hosts a, b, c, ... (network namespaces with
// their own OVS and ovn-controller, libvirtd in private mount/UTS
// namespaces on the hosts that need one) on one central NB/SB, joined by a
// Geneve underlay, and an outside namespace (the physical network's
// stand-in) cabled to every chassis' br-ex, mapped as physnet1.
type NHost struct {
	// Dir is the run directory (QN_NHOST_DIR); Hook the qemu hook binary
	// installed on the libvirt hosts (QN_NHOST_HOOK, "": none).
	Dir, Hook string
	// Hosts is how many hosts (QN_HOSTS; 0: the script's 3).
	Hosts int
	// Libvirt names the hosts running a libvirtd (nil: the script's a and
	// b; an empty, non-nil slice: none).
	Libvirt []string
	// NoOutside leaves the outside network out (QN_NHOST_OUTSIDE=0).
	NoOutside bool
	// NetnsPrefix names the namespaces PREFIX-a, ..., PREFIX-sw,
	// PREFIX-out ("": the script's qn-nh).
	NetnsPrefix string
	// Vars is what `nhost.sh env` printed: remotes, chassis names, sockets,
	// libvirt URIs per host, the outside's namespace and addresses.
	Vars map[string]string
	// Env gives the repository and the binaries; Up sets it.
	Env *Env
}

// ScriptEnv is the environment that points the scripts at these hosts.
func (nh *NHost) ScriptEnv() []string {
	out := []string{"QN_NHOST_DIR=" + nh.Dir, "QN_NHOST_HOOK=" + nh.Hook}
	if nh.Hosts != 0 {
		out = append(out, fmt.Sprintf("QN_HOSTS=%d", nh.Hosts))
	}
	if nh.Libvirt != nil {
		out = append(out, "QN_NHOST_LIBVIRT="+strings.Join(nh.Libvirt, " "))
	}
	if nh.NoOutside {
		out = append(out, "QN_NHOST_OUTSIDE=0")
	}
	if nh.NetnsPrefix != "" {
		out = append(out, "QN_NHOST_NETNS_PREFIX="+nh.NetnsPrefix)
	}
	return out
}

// Up brings the hosts up for e (nhost.sh up; idempotent: run it again after
// changing Hook), registers their down, and reads their Vars.
func (nh *NHost) Up(e *Env) error {
	if nh.Env == nil {
		e.Cleanup(func() {
			if out, err := nh.Script("nhost.sh", "down"); err != nil {
				fmt.Printf("%s: nhost down: %v\n%s", e.Name, err, out)
			}
		})
	}
	nh.Env = e
	if out, err := nh.Script("nhost.sh", "up"); err != nil {
		return fmt.Errorf("nhost up: %v\n%s", err, Tail(out, 30))
	}
	out, err := nh.Script("nhost.sh", "env")
	if err != nil {
		return fmt.Errorf("nhost env: %v\n%s", err, out)
	}
	nh.Vars = ParseEnv(out, nh.Vars)
	return nil
}

// Script runs scripts/name with these hosts' environment.
func (nh *NHost) Script(name string, args ...string) (string, error) {
	return nh.Env.Script(nh.ScriptEnv(), name, args...)
}

// Names are the hosts' names (a, b, c, ...).
func (nh *NHost) Names() []string { return strings.Fields(nh.Vars["QN_HOST_NAMES"]) }

// Var is a per-host variable of nhost.sh env: Var("QN_CHASSIS_", "c").
func (nh *NHost) Var(prefix, host string) string { return nh.Vars[prefix+strings.ToUpper(host)] }

// DaemonConfig is the config of host h's quantumnetd (see hostDaemonConfig),
// with the outside's bridge mapping.
func (nh *NHost) DaemonConfig(h string) DaemonConfig {
	return hostDaemonConfig(nh.Env, nh.Dir, nh.Vars, h, "nhost.sh", nh.ScriptEnv())
}

// Virsh runs virsh on host h's libvirtd.
func (nh *NHost) Virsh(h string, args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", nh.Var("QN_LIBVIRT_URI_", h)}, args...)...).CombinedOutput()
	return string(out), err
}

// Outside runs a command in the outside namespace and returns its combined
// output.
func (nh *NHost) Outside(args ...string) (string, error) {
	ns := nh.Vars["QN_OUTSIDE_NETNS"]
	if ns == "" {
		return "", fmt.Errorf("nhost: no outside network (QN_NHOST_OUTSIDE=0?)")
	}
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// OutsideCmd is a command in the outside namespace, not started.
func (nh *NHost) OutsideCmd(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nh.Vars["QN_OUTSIDE_NETNS"]}, args...)...)
}

// OutsideIP4 is the outside's IPv4 address (192.0.2.10), without prefix.
func (nh *NHost) OutsideIP4() string {
	a, _, _ := strings.Cut(nh.Vars["QN_OUTSIDE_IP4"], "/")
	return a
}

// Pidfile is the pid file of a daemon of host h's chassis (ovn-controller,
// ovs-vswitchd, ovsdb-server).
func (nh *NHost) Pidfile(h, daemon string) string { return filepath.Join(nh.Dir, h, daemon+".pid") }

// hostDaemonConfig is the config of host h's quantumnetd in a run dir of
// nhost.sh (or its wrapper twohost.sh, script): inside the host (script
// exec), on the host's OVS and chassis, which the script manages
// (Unmanaged), with the outside's bridge mapping when there is one. On a
// libvirt host it follows the host's libvirtd and listens on the default
// socket, reached from outside through the host's root; elsewhere (no mount
// namespace of its own) its socket is in the run dir and libvirt is off.
func hostDaemonConfig(e *Env, dir string, vars map[string]string, h, script string, wrapEnv []string) DaemonConfig {
	H := strings.ToUpper(h)
	c := DaemonConfig{
		Bin: e.Bin, Dir: dir, Name: "quantumnetd-" + h,
		NB: vars["QN_NB_REMOTE"], SB: vars["QN_SB_REMOTE"], OVS: vars["QN_OVS_REMOTE_"+H],
		Chassis: vars["QN_CHASSIS_"+H], EncapIP: vars["QN_ENCAP_IP_"+H], DatapathType: "netdev", Unmanaged: true,
		Socket: "/run/quantumnet/quantumnetd.sock", ClientSocket: vars["QN_QUANTUMNETD_SOCKET_"+H],
		ReadyTimeout: "5s", Libvirt: "qemu:///system",
		// script exec ends in `exec nsenter ... -- quantumnetd` (or ip
		// netns exec): the process started is the daemon itself.
		Wrap: []string{filepath.Join(e.Repo, "scripts", script), "exec", h}, WrapEnv: wrapEnv,
	}
	if m := vars["QN_BRIDGE_MAPPINGS"]; m != "" {
		c.BridgeMappings = strings.Split(m, ",")
	}
	if lv, ok := vars["QN_LIBVIRT_HOSTS"]; ok && !slices.Contains(strings.Fields(lv), h) {
		c.Socket, c.Libvirt, c.NoLibvirt = c.ClientSocket, "", true
	}
	return c
}

// StartDaemons starts one quantumnetd per host of hosts (nil: every
// host), each from DaemonConfig with its own directory under Dir, changed
// by edit if not nil, and waits up to ready for each to be ready. The
// daemons started are returned also on error, for the caller to stop.
func (nh *NHost) StartDaemons(hosts []string, ready time.Duration, edit func(h string, c *DaemonConfig)) (map[string]*Daemon, error) {
	if hosts == nil {
		hosts = nh.Names()
	}
	ds := map[string]*Daemon{}
	for _, h := range hosts {
		c := nh.DaemonConfig(h)
		c.Dir = filepath.Join(nh.Dir, h)
		if edit != nil {
			edit(h, &c)
		}
		d, err := StartDaemon(c)
		if d != nil {
			ds[h] = d
		}
		if err != nil {
			return ds, fmt.Errorf("quantumnetd on host %s: %w", h, err)
		}
	}
	for _, h := range hosts {
		if err := ds[h].WaitReady(ready); err != nil {
			return ds, fmt.Errorf("host %s: %w", h, err)
		}
	}
	return ds, nil
}

// StopAtClose has e's cleanups stop every daemon of ds, printing the tail
// (tail lines) of each one's log when QN_SHOW_LOGS=1, and copies ds into
// into (a test package's daemons by host) when into is not nil.
func StopAtClose(e *Env, ds, into map[string]*Daemon, tail int) {
	for h, d := range ds {
		if into != nil {
			into[h] = d
		}
		e.Cleanup(func() {
			d.Stop()
			if os.Getenv("QN_SHOW_LOGS") == "1" {
				fmt.Printf("%s log (tail):\n%s\n", d.Name, TailFile(d.LogPath, tail))
			}
		})
	}
}
