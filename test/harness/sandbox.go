package harness

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Sandbox is a local OVN deployment run by scripts/sandbox.sh: NB, SB,
// northd, OVS on the userspace datapath and ovn-controller as one chassis.
type Sandbox struct {
	// Dir is the run directory (QN_SANDBOX_DIR), Chassis the chassis name,
	// EncapIP its Geneve address (default 127.0.0.1), Netns the network
	// namespace standing for the chassis host ("": the current one).
	Dir, Chassis, EncapIP, Netns string
	// Env is more environment for the scripts (QN_LIBVIRT_DIR=...).
	Env []string
	// Cluster runs NB and SB as 3-member Raft clusters (QN_CLUSTER=3),
	// their Raft ports from ClusterPort (QN_CLUSTER_PORT; 0: the script's
	// default). See cluster.go.
	Cluster     bool
	ClusterPort int
	// SSL also serves NB, SB and OVS with TLS on 127.0.0.1 from SSLPort
	// (QN_SSL=1, QN_SSL_PORT; 0: the script's default), with ovs-pki
	// certificates in Dir/pki; ovn-northd and ovn-controller use ssl:, and
	// DaemonConfig points the daemon at the ssl: remotes.
	SSL     bool
	SSLPort int

	env *Env
}

// ScriptEnv is the environment that points scripts/sandbox.sh (and the
// scripts that build on it) at this sandbox.
func (s *Sandbox) ScriptEnv() []string {
	ip := s.EncapIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	out := []string{"QN_SANDBOX_DIR=" + s.Dir, "QN_CHASSIS=" + s.Chassis, "QN_ENCAP_IP=" + ip}
	if s.Netns != "" {
		out = append(out, "QN_NETNS="+s.Netns)
	}
	if s.SSL {
		out = append(out, "QN_SSL=1")
		if s.SSLPort != 0 {
			out = append(out, fmt.Sprintf("QN_SSL_PORT=%d", s.SSLPort))
		}
	}
	if s.Cluster {
		out = append(out, "QN_CLUSTER=3")
		if s.ClusterPort != 0 {
			out = append(out, fmt.Sprintf("QN_CLUSTER_PORT=%d", s.ClusterPort))
		}
	}
	return append(out, s.Env...)
}

// Up starts the sandbox for e (sandbox.sh up) and registers its down.
func (s *Sandbox) Up(e *Env) error {
	s.env = e
	e.Cleanup(func() {
		if out, err := s.Script("sandbox.sh", "down"); err != nil {
			fmt.Printf("%s: sandbox down: %v\n%s", e.Name, err, out)
		}
	})
	if out, err := s.Script("sandbox.sh", "up"); err != nil {
		return fmt.Errorf("sandbox up: %v\n%s", err, out)
	}
	return nil
}

// Script runs scripts/name with this sandbox's environment.
func (s *Sandbox) Script(name string, args ...string) (string, error) {
	return s.env.Script(s.ScriptEnv(), name, args...)
}

// NB, SB and OVS are the sandbox's database remotes; NB and SB of a
// cluster list every member, comma-separated (as ovn-nbctl --db takes
// them, and DaemonConfig writes them as a list).
func (s *Sandbox) NB() string  { return s.remotes("nb") }
func (s *Sandbox) SB() string  { return s.remotes("sb") }
func (s *Sandbox) OVS() string { return "unix:" + s.Dir + "/db.sock" }

func (s *Sandbox) remotes(db string) string {
	if !s.Cluster {
		return "unix:" + s.Dir + "/" + db + ".sock"
	}
	var rs []string
	for i := 1; i <= 3; i++ {
		rs = append(rs, fmt.Sprintf("unix:%s/%s%d.sock", s.Dir, db, i))
	}
	return strings.Join(rs, ",")
}

// DaemonConfig is the config of a quantumnetd on this sandbox's chassis,
// beside its ovs-vswitchd (in its network namespace), managing the chassis,
// its files in dir.
func (s *Sandbox) DaemonConfig() DaemonConfig {
	c := DaemonConfig{Bin: s.env.Bin, NB: s.NB(), SB: s.SB(), OVS: s.OVS(), Chassis: s.Chassis, DatapathType: "netdev"}
	if s.Netns != "" {
		c.Wrap = []string{"ip", "netns", "exec", s.Netns}
	}
	if s.SSL {
		port := s.SSLPort
		if port == 0 {
			port = 16651
		}
		c.NB, c.SB, c.OVS = fmt.Sprintf("ssl:127.0.0.1:%d", port), fmt.Sprintf("ssl:127.0.0.1:%d", port+1), fmt.Sprintf("ssl:127.0.0.1:%d", port+2)
		c.SSLKey, c.SSLCert, c.SSLCA = s.Dir+"/pki/client-privkey.pem", s.Dir+"/pki/client-cert.pem", s.Dir+"/pki/pki/switchca/cacert.pem"
	}
	return c
}

// Tool runs an OVN/OVS command-line tool (ovn-nbctl, ovn-sbctl, ovs-vsctl)
// against the sandbox and returns its trimmed stdout; a failure fails the
// test.
func (s *Sandbox) Tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	var db string
	switch name {
	case "ovn-nbctl":
		db = "--db=" + s.NB()
	case "ovn-sbctl":
		db = "--db=" + s.SB()
	case "ovs-vsctl":
		db = "--db=" + s.OVS()
	}
	cmd := exec.Command(name, append([]string{db}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// NBPorts lists the NB logical ports of a network.
func (s *Sandbox) NBPorts(t testing.TB, network string) []string {
	t.Helper()
	return strings.Fields(s.Tool(t, "ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:network="+network))
}

// OVSPorts lists the OVS ports of containers on br-int (not the networks'
// resolver endpoints, qnd*).
func (s *Sandbox) OVSPorts(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, p := range strings.Fields(s.Tool(t, "ovs-vsctl", "list-ports", "br-int")) {
		if !strings.HasPrefix(p, "qnd") {
			out = append(out, p)
		}
	}
	return out
}

// HostLinks lists the links of the chassis host whose names start with prefix.
func (s *Sandbox) HostLinks(prefix string) []string {
	args := []string{"-o", "link", "show"}
	if s.Netns != "" {
		args = append([]string{"-n", s.Netns}, args...)
	}
	out, _ := exec.Command("ip", args...).Output()
	var l []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], prefix) {
			l = append(l, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return l
}
