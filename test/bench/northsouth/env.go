package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// Contender names.
const (
	cOVN = "ovn"
	cQN  = "quantumnet"
)

// bench holds the environment: the hosts, their daemons, what to undo.
type bench struct {
	pid      int
	h        *harness.Env
	nh       *harness.NHost
	daemons  map[string]*harness.Daemon
	noRouter string // why the quantumnet contender is n/a ("": it runs)
}

// up builds (or finds) the binaries, brings three hosts and the outside up
// with their own run dir and namespace names, and starts a daemon per host.
func (b *bench) up() error {
	b.nh = &harness.NHost{Dir: fmt.Sprintf("/tmp/qn-nsb-%d", b.pid), Hosts: 3, Libvirt: []string{},
		NetnsPrefix: fmt.Sprintf("qnnsb%d", b.pid%100000), Vars: map[string]string{}}
	b.h = harness.New(harness.Setup{Name: "nsbench", Root: true, Prebuilt: *flagBin,
		Programs: []string{"ovn-controller", "ovn-nbctl", "ping", "ethtool"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"}, Up: b.nh.Up})
	logf("bringing up three hosts and the outside (run dir %s)", b.nh.Dir)
	if err := b.h.Start(); err != nil {
		return err
	}
	out, _ := exec.Command(filepath.Join(b.h.Bin, "qnetctl"), "router", "--help").CombinedOutput()
	if !strings.Contains(string(out), "router create") { // the usage lists them once they exist
		b.noRouter = "qnetctl has no router commands yet"
		return nil
	}
	var err error
	b.daemons, err = b.nh.StartDaemons(nil, 30*time.Second, nil)
	return err
}

// close stops the daemons and takes everything down.
func (b *bench) close() {
	for _, d := range b.daemons {
		d.Stop()
	}
	if b.h != nil {
		b.h.Close()
	}
}

// nbctl runs ovn-nbctl (sbctl: ovn-sbctl) on the central databases.
func (b *bench) nbctl(args ...string) (string, error) {
	out, err := exec.Command("ovn-nbctl", append([]string{"--db=" + b.nh.Vars["QN_NB_REMOTE"]}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovn-nbctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *bench) sbctl(args ...string) string {
	out, _ := exec.Command("ovn-sbctl", append([]string{"--db=" + b.nh.Vars["QN_SB_REMOTE"]}, args...)...).Output()
	return strings.TrimSpace(string(out))
}

// run runs a command, its output combined into the error.
func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// qnetctl runs qnetctl on host a's daemon.
func (b *bench) qnetctl(args ...string) (string, error) {
	out, err := b.daemons["a"].Qnetctl(args...)
	if err != nil {
		return out, fmt.Errorf("qnetctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// setBFD writes (or, for the default, removes) the NB_Global BFD options.
func (b *bench) setBFD(s bfd) error {
	if s == (bfd{}) {
		_, err := b.nbctl("remove", "NB_Global", ".", "options", "bfd-min-rx", "--", "remove", "NB_Global", ".", "options", "bfd-min-tx",
			"--", "remove", "NB_Global", ".", "options", "bfd-mult")
		return err
	}
	_, err := b.nbctl("set", "NB_Global", ".", fmt.Sprintf("options:bfd-min-rx=%d", s.MinRx),
		fmt.Sprintf("options:bfd-min-tx=%d", s.MinTx), fmt.Sprintf("options:bfd-mult=%d", s.Mult))
	return err
}

// tunnelBFD is the BFD configuration on host h's first Geneve tunnel, as
// ovn-controller wrote it (what the sessions really use).
func (b *bench) tunnelBFD(h string) string {
	out, _ := exec.Command("ovs-vsctl", "--db="+b.nh.Var("QN_OVS_REMOTE_", h), "--bare", "--columns=bfd", "find", "Interface", "type=geneve").Output()
	l := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)
	return l[0]
}

// hostOf is the host whose chassis is named chassis.
func (b *bench) hostOf(chassis string) string {
	for _, h := range b.nh.Names() {
		if b.nh.Var("QN_CHASSIS_", h) == chassis {
			return h
		}
	}
	return ""
}
