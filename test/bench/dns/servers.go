package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// dnsmasq is one dnsmasq process this benchmark started.
type dnsmasq struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startServers writes the records, links dnsmasq's namespace to the
// host's (where the upstream listens, and from where QuantumNet's
// resolver forwards) and starts the upstream and the contender.
func (b *bench) startServers() error {
	dir := filepath.Join(b.H.Tmp, "dns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var hosts, fwd strings.Builder
	for _, p := range b.ports {
		fmt.Fprintf(&hosts, "%s %s.%s\n", p.IP, p.Name, domain)
	}
	for i := range *flagFwd {
		fmt.Fprintf(&fwd, "%s f%d.%s\n", fwdAddr(i), i, fwdZone)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fwd-hosts"), []byte(fwd.String()), 0o644); err != nil {
		return err
	}
	if err := b.linkUpstream(); err != nil {
		return err
	}
	common := []string{"-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
		"--user=root", "--group=root", "--pid-file=", "--log-facility=-", "--local-ttl=1"}
	up := append(common, "--listen-address="+upAddr, "--addn-hosts="+filepath.Join(dir, "fwd-hosts"), "--local=/"+fwdZone+"/")
	if err := b.start("upstream", b.Sbx.Netns, up); err != nil {
		return err
	}
	peer := append(common, "--listen-address="+b.dmqIP, "--addn-hosts="+filepath.Join(dir, "hosts"),
		"--local=/"+domain+"/", "--server="+upAddr, "--cache-size=0")
	for _, z := range reverseZones(netip.MustParsePrefix(subnet4)) {
		peer = append(peer, "--local=/"+z+"/")
	}
	return b.start("dnsmasq", b.dmqNS, peer)
}

// fwdAddr is the address of f<i>.fwd.test.
func fwdAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }

// reverseZones are the in-addr.arpa zones (whole octets) covering p.
func reverseZones(p netip.Prefix) []string {
	bits := (p.Bits() + 7) / 8 * 8
	var out []string
	for s := p.Masked().Addr(); p.Contains(s); {
		b := s.As4()
		var labels []string
		for i := bits/8 - 1; i >= 0; i-- {
			labels = append(labels, fmt.Sprint(b[i]))
		}
		out = append(out, strings.Join(labels, ".")+".in-addr.arpa")
		next := netip.PrefixFrom(s, bits).Masked()
		last := next.Addr().As4()
		for i := bits / 8; i < 4; i++ {
			last[i] = 255
		}
		s = netip.AddrFrom4(last).Next()
		if !s.IsValid() {
			break
		}
	}
	return out
}

// linkUpstream makes a veth between the host's namespace (upAddr) and
// dnsmasq's (dmqUp): the upstream is reached from both contenders.
func (b *bench) linkUpstream() error {
	hostEnd, peerEnd := fmt.Sprintf("qndbu%d", b.Pid), fmt.Sprintf("qndbp%d", b.Pid)
	h, d := b.Sbx.Netns, b.dmqNS
	steps := [][]string{
		{"ip", "-n", h, "link", "add", hostEnd, "type", "veth", "peer", "name", peerEnd, "netns", d},
		{"ip", "-n", h, "addr", "add", upAddr + "/30", "dev", hostEnd},
		{"ip", "-n", h, "link", "set", hostEnd, "up"},
		{"ip", "-n", d, "addr", "add", dmqUp + "/30", "dev", peerEnd},
		{"ip", "-n", d, "link", "set", peerEnd, "up"},
	}
	for i, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v %s", strings.Join(s, " "), err, out)
		}
		if i == 0 {
			b.Undo = append(b.Undo, func() { _ = exec.Command("ip", "-n", h, "link", "del", hostEnd).Run() })
		}
	}
	return nil
}

// start runs dnsmasq with args in namespace ns, its output in a log file;
// it is stopped at the end.
func (b *bench) start(name, ns string, args []string) error {
	log := filepath.Join(b.H.Tmp, "dns", name+".log")
	f, err := os.Create(log)
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, "dnsmasq"}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	s := &dnsmasq{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(s.done) }()
	b.servers = append(b.servers, s)
	select {
	case <-s.done:
		return fmt.Errorf("%s exited at start (%v):\n%s", name, cmd.ProcessState, harness.TailFile(log, 10))
	case <-time.After(300 * time.Millisecond):
	}
	return nil
}

// stop ends the process (SIGTERM, SIGKILL after 5 s).
func (s *dnsmasq) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
