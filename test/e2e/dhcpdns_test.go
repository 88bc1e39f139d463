package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/test/harness"
)

// udhcpcScript records every udhcpc event and the lease's options in a file
// (one line per event) and configures the address like a real client.
const udhcpcScript = `#!/bin/sh
out=%s
case $1 in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr replace "$ip/$mask" dev "$interface"
	echo "$1 ip=$ip mask=$mask router=$router dns=$dns domain=$domain mtu=$mtu lease=$lease ntpsrv=$ntpsrv staticroutes=$staticroutes" >>"$out" ;;
esac
exit 0
`

// dhclient6Script records ISC dhclient's DHCPv6 leases.
const dhclient6Script = `#!/bin/sh
out=%s
case $reason in
BOUND6|RENEW6|REBIND6) echo "$reason ipv6=$new_ip6_address dns=$new_dhcp6_name_servers search=$new_dhcp6_domain_search" >>"$out" ;;
esac
exit 0
`

func writeScript(t *testing.T, body, out string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(body, out)), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// field returns key=VALUE from an event line.
func field(line, key string) string {
	m := regexp.MustCompile(`(?:^| )` + regexp.QuoteMeta(key) + `=(.*?)(?: [a-z0-9]+=|$)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

type netInfo struct {
	Resolvers []string `json:"resolvers"`
}

func (e *sgEnv) resolvers() []string {
	e.t.Helper()
	var n netInfo
	if err := jsonUnmarshal([]byte(e.d.MustQnetctl("-o", "json", "network", "show", e.net)), &n); err != nil {
		e.t.Fatal(err)
	}
	if len(n.Resolvers) != 2 {
		e.t.Fatalf("network %s has resolvers %v, want one per family", e.net, n.Resolvers)
	}
	return n.Resolvers
}

// TestDHCPForContainers: a container running busybox udhcpc/udhcpc6 gets
// the address IPAM gave its port with the network's options, sees an option
// change at its next renewal, and learns the IPv6 default route from router
// advertisements.
func TestDHCPForContainers(t *testing.T) {
	e := newSGEnv(t, "e2e-dhcp", "10.220.0.0/24", "fd00:220::/64")
	e.d.MustQnetctl("network", "set", e.net, "--lease-time", "6", "--ntp-server", "10.220.0.123",
		"--route", "192.168.50.0/24=10.220.0.250", "--dns-domain", "dhcp.test")
	res := e.resolvers()
	refuseBadSettings(t, e)
	c := e.container("dhcp-c1")
	// Forget the static configuration: from here on DHCP configures eth0.
	for _, cmd := range [][]string{{"ip", "-4", "addr", "flush", "dev", "eth0"}, {"ip", "-4", "route", "flush", "dev", "eth0"}} {
		if out, err := execIn(c.ns, cmd[0], cmd[1:]...); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, out)
		}
	}
	leases := filepath.Join(t.TempDir(), "leases")
	cmd := startUdhcpc(t, c.ns, leases)
	// The script appends a whole line per lease: wait for one (the file
	// exists a moment before its first line is written).
	eventually(t, "a DHCPv4 lease", func() error {
		if _, err := os.Stat(leases); err != nil {
			return err
		}
		if field(lastLine(leases), "ip") == "" {
			return fmt.Errorf("no complete lease line yet")
		}
		return nil
	})
	l := lastLine(leases)
	t.Logf("lease: %s", l)
	for k, want := range map[string]string{
		"ip": c.ip4, "mask": "24", "router": "10.220.0.1", "dns": res[0], "domain": "dhcp.test", "mtu": "1400",
		"lease": "6", "ntpsrv": "10.220.0.123", "staticroutes": "192.168.50.0/24 10.220.0.250 0.0.0.0/0 10.220.0.1",
	} {
		if got := field(l, k); got != want {
			t.Errorf("lease %s = %q, want %q", k, got, want)
		}
	}
	// The address works: the gateway answers (the network's router).
	allowed(t, "ping the gateway over the DHCP address", pingOnce(c.ns, "10.220.0.1"))

	// A change reaches the client at its next renewal. (busybox udhcpc
	// stretches leases shorter than 122 s, so the renewal is asked for with
	// SIGUSR1, as its T1 timer would.)
	e.d.MustQnetctl("network", "set", e.net, "--ntp-server", "10.220.0.124", "--mtu", "1380")
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, "the changed options at a renewal", func() error {
		l := lastLine(leases)
		if strings.HasPrefix(l, "renew") && field(l, "ntpsrv") == "10.220.0.124" && field(l, "mtu") == "1380" {
			return nil
		}
		return fmt.Errorf("last event: %s", l)
	})
	t.Logf("option change seen by the client after %v", took)

	checkDHCPv6(t, c, res)
	checkRADefaultRoute(t, c)
}

// refuseBadSettings: bad settings are refused naming the field, and change
// nothing.
func refuseBadSettings(t *testing.T, e *sgEnv) {
	t.Helper()
	before := e.d.MustQnetctl("network", "show", e.net)
	for _, bad := range []struct{ flag, value, field string }{
		{"--route", "192.168.0.0/16", "routes"},
		{"--route", "192.168.0.0/16=10.99.0.1", "routes"},
		{"--ntp-server", "fd00::1", "ntp_servers"},
		{"--dns-server", "10.0.0.300", "dns_servers"},
		{"--lease-time", "1", "lease_time"},
		{"--mtu", "100", "mtu"},
		{"--dns-upstream", "dns.example", "dns_upstream"},
	} {
		out, err := e.d.Qnetctl("network", "set", e.net, bad.flag, bad.value)
		if err == nil || !strings.Contains(out, bad.field) {
			t.Errorf("network set %s %s: err=%v, want an error naming %s:\n%s", bad.flag, bad.value, err, bad.field, out)
		}
	}
	if after := e.d.MustQnetctl("network", "show", e.net); after != before {
		t.Fatalf("refused changes changed the network:\n%s\n---\n%s", before, after)
	}
}

// startUdhcpc runs busybox udhcpc on eth0 of nsPath, recording its events
// in leases, until the test ends (its log and the DHCP options are logged
// if the test failed).
func startUdhcpc(t *testing.T, nsPath, leases string) *exec.Cmd {
	t.Helper()
	script := writeScript(t, udhcpcScript, leases)
	ctx4, cancel := context.WithCancel(context.Background())
	cmd := execCommandContext(ctx4, "ip", "netns", "exec", harness.NsName(nsPath), "busybox", "udhcpc", "-i", "eth0", "-f", "-t", "10",
		"-O", "staticroutes", "-O", "ntpsrv", "-s", script)
	var clientLog strings.Builder
	cmd.Stdout, cmd.Stderr = &clientLog, &clientLog
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("udhcpc:\n%s", clientLog.String())
			t.Logf("DHCP options:\n%s", sbx.Tool(t, "ovn-nbctl", "list", "DHCP_Options"))
		}
	})
	return cmd
}

// checkDHCPv6: DHCPv6 (stateful, ISC dhclient) gives the port's IPv6
// address and the resolver.
func checkDHCPv6(t *testing.T, c ctr, res []string) {
	t.Helper()
	leases6 := filepath.Join(t.TempDir(), "leases6")
	script6 := writeScript(t, dhclient6Script, leases6)
	dir6 := t.TempDir()
	ctx6, cancel6 := context.WithCancel(context.Background())
	defer cancel6()
	cmd6 := execCommandContext(ctx6, "ip", "netns", "exec", harness.NsName(c.ns), "dhclient", "-6", "-d", "-sf", script6,
		"-lf", filepath.Join(dir6, "leases"), "-pf", filepath.Join(dir6, "pid"), "eth0")
	var log6 strings.Builder
	cmd6.Stdout, cmd6.Stderr = &log6, &log6
	if err := cmd6.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel6(); cmd6.Wait() }()
	eventually(t, "a DHCPv6 lease", func() error {
		if _, err := os.Stat(leases6); err != nil {
			return fmt.Errorf("none yet; dhclient says:\n%s", log6.String())
		}
		return nil
	})
	l6 := lastLine(leases6)
	t.Logf("DHCPv6 lease: %s", l6)
	if got := field(l6, "ipv6"); got != c.ip6 {
		t.Errorf("DHCPv6 address %q, IPAM gave %q", got, c.ip6)
	}
	if got := field(l6, "dns"); got != res[1] {
		t.Errorf("DHCPv6 dns %q, want the resolver %s", got, res[1])
	}
	// (No domain search: OVN 23.03 encodes it as one label, see netsvc.)
}

// checkRADefaultRoute: router advertisements: without its static IPv6
// default route, the container learns one from the router (a solicitation
// on link up).
func checkRADefaultRoute(t *testing.T, c ctr) {
	t.Helper()
	execIn(c.ns, "ip", "-6", "route", "del", "default")
	execIn(c.ns, "ip", "link", "set", "eth0", "down")
	execIn(c.ns, "ip", "link", "set", "eth0", "up")
	eventually(t, "an IPv6 default route from a router advertisement", func() error {
		out, _ := execIn(c.ns, "ip", "-6", "route", "show", "default")
		if strings.Contains(out, "proto ra") && strings.Contains(out, "via fe80::") {
			return nil
		}
		return fmt.Errorf("ip -6 route show default: %q", out)
	})
	out, _ := execIn(c.ns, "ip", "-6", "route", "show", "default")
	t.Logf("RA: %s", strings.TrimSpace(out))
}

// upstreamDNS runs a DNS server in the chassis' namespace (where the daemon
// forwards from) answering example.test, and returns its address.
func upstreamDNS(t *testing.T) string {
	t.Helper()
	host := "/var/run/netns/" + sbx.Netns
	execIn(host, "ip", "link", "set", "lo", "up")
	var pc net.PacketConn
	if err := inNS(host, func() (err error) { pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; q.Qtype == dns.TypeA && strings.EqualFold(q.Name, "example.test.") {
			rr, _ := dns.NewRR("example.test. 60 IN A 192.0.2.7")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// resolvConf gives a namespace the resolv.conf a runtime writes from the
// CNI result (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf).
func resolvConf(t *testing.T, nsPath, nameserver, search string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", harness.NsName(nsPath))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	body := fmt.Sprintf("nameserver %s\nsearch %s\noptions timeout:2 attempts:1\n", nameserver, search)
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// digOut runs dig in a namespace (default EDNS unless flags say otherwise).
func digOut(nsPath string, args ...string) string {
	out, _ := execIn(nsPath, "dig", append([]string{"+tries=1", "+time=2"}, args...)...)
	return out
}

func digShort(nsPath string, args ...string) string {
	return strings.TrimSpace(digOut(nsPath, append([]string{"+short"}, args...)...))
}

// TestMagicDNS: every named port is <name>.<domain>, in containers through
// the resolver their DHCP/CNI result names, with dig (EDNS), getent and
// nslookup; reverse lookups; unknown names are NXDOMAIN at once; other
// networks' names are not visible; other names are forwarded upstream;
// renames and deletes show within a second; OVN native DNS still answers
// plain queries at the gateway.
func TestMagicDNS(t *testing.T) {
	env.Require(t)
	up := upstreamDNS(t)
	e := newSGEnvWith(t, "e2e-dns", "10.221.0.0/24", "fd00:221::/64", fmt.Sprintf("[dns]\nupstream = [%q]\n", up))
	res := e.resolvers()
	web := e.containerArgs("dns-web", [2]string{"K8S_POD_NAME", "web"})
	cli := e.containerArgs("dns-cli", [2]string{"NAME", "client"})
	e.container("dns-anon")
	// The CNI result names the resolvers and the domain (a runtime writes
	// resolv.conf from it, as this does).
	if !slices.Equal(cli.dns, res) || !slices.Equal(cli.search, []string{"quantix.local"}) {
		t.Fatalf("CNI result DNS: nameservers %v search %v, want %v and [quantix.local]", cli.dns, cli.search, res)
	}
	resolvConf(t, cli.ns, cli.dns[0], cli.search[0])

	checkPortNames(t, cli, web, res)
	checkOrdinaryClients(t, cli, web, res)
	checkNetworkUpstream(t, e, cli, res)
	checkOtherNetwork(t, e, cli, res)
	// OVN native DNS answers plain queries at the gateway.
	if got := digShort(cli.ns, "+noedns", "@10.221.0.1", "web.quantix.local"); got != web.ip4 {
		t.Errorf("OVN native DNS at the gateway: %q, want %s", got, web.ip4)
	}
	checkRenameDelete(t, e, cli, web, res)
}

// checkPortNames: web's name answers A and AAAA over both resolvers, with
// and without EDNS, and its addresses' PTRs name it.
func checkPortNames(t *testing.T, cli, web ctr, res []string) {
	t.Helper()
	// The CNI result names the resolver (a runtime writes resolv.conf from it).
	eventually(t, "web.quantix.local over EDNS", func() error {
		if got := digShort(cli.ns, "@"+res[0], "web.quantix.local", "A"); got != web.ip4 {
			return fmt.Errorf("A %q, want %s", got, web.ip4)
		}
		return nil
	})
	if got := digShort(cli.ns, "@"+res[0], "web.quantix.local", "AAAA"); got != web.ip6 {
		t.Errorf("AAAA %q, want %s", got, web.ip6)
	}
	if got := digShort(cli.ns, "@"+res[1], "WEB.quantix.local", "A"); got != web.ip4 {
		t.Errorf("A over the IPv6 resolver %q, want %s", got, web.ip4)
	}
	if got := digShort(cli.ns, "+noedns", "@"+res[0], "web.quantix.local"); got != web.ip4 {
		t.Errorf("A without EDNS %q, want %s", got, web.ip4)
	}
	if got := digShort(cli.ns, "@"+res[0], "-x", web.ip4); got != "web.quantix.local." {
		t.Errorf("PTR of %s: %q", web.ip4, got)
	}
	if got := digShort(cli.ns, "@"+res[0], "-x", web.ip6); got != "web.quantix.local." {
		t.Errorf("PTR of %s: %q", web.ip6, got)
	}
}

// checkOrdinaryClients: getent and nslookup resolve; unknown names are
// NXDOMAIN, not a timeout; other names go to the upstream server.
func checkOrdinaryClients(t *testing.T, cli, web ctr, res []string) {
	t.Helper()
	if out, err := execIn(cli.ns, "getent", "hosts", "web.quantix.local"); err != nil || !strings.Contains(out, web.ip4) && !strings.Contains(out, web.ip6) {
		t.Errorf("getent hosts web.quantix.local: %v %q", err, out)
	}
	if out, err := execIn(cli.ns, "getent", "ahostsv4", "client"); err != nil || !strings.Contains(out, cli.ip4) {
		t.Errorf("getent ahostsv4 client (search domain): %v %q", err, out)
	}
	if out, err := execIn(cli.ns, "busybox", "nslookup", "web.quantix.local", res[0]); err != nil || !strings.Contains(out, web.ip4) {
		t.Errorf("nslookup: %v\n%s", err, out)
	}
	start := time.Now()
	if out := digOut(cli.ns, "@"+res[0], "nosuch.quantix.local"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("unknown name:\n%s", out)
	}
	t.Logf("NXDOMAIN for an unknown name in %v", time.Since(start))
	if got := digShort(cli.ns, "@"+res[0], "example.test"); got != "192.0.2.7" {
		t.Errorf("forwarded name: %q", got)
	}
}

// checkNetworkUpstream: a network's own upstream servers replace the
// daemon's (here one that does not answer: SERVFAIL), and "none" goes
// back to the daemon's.
func checkNetworkUpstream(t *testing.T, e *sgEnv, cli ctr, res []string) {
	t.Helper()
	e.d.MustQnetctl("network", "set", e.net, "--dns-upstream", "127.0.0.1:9")
	eventually(t, "the network's own upstream in use", func() error {
		if out := digOut(cli.ns, "+time=5", "@"+res[0], "example.test"); !strings.Contains(out, "status: SERVFAIL") {
			return fmt.Errorf("not SERVFAIL:\n%s", out)
		}
		return nil
	})
	e.d.MustQnetctl("network", "set", e.net, "--dns-upstream", "none")
	eventually(t, "the daemon's upstream again", func() error {
		if got := digShort(cli.ns, "@"+res[0], "example.test"); got != "192.0.2.7" {
			return fmt.Errorf("forwarded name: %q", got)
		}
		return nil
	})
}

// checkOtherNetwork: another network's ports are not visible here, and
// deleting that network takes its resolver endpoint down (port, veth).
func checkOtherNetwork(t *testing.T, e *sgEnv, cli ctr, res []string) {
	t.Helper()
	other := newSGEnvOn(t, e.d, "e2e-dns2", "10.222.0.0/24", "fd00:222::/64")
	other.containerArgs("dns-other", [2]string{"NAME", "elsewhere"})
	if out := digOut(cli.ns, "@"+res[0], "elsewhere.quantix.local"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("a name of another network resolves here:\n%s", out)
	}
	qnd := netsvc.ResolverIfname("e2e-dns2")
	if l := sbx.HostLinks(qnd); len(l) != 1 {
		t.Fatalf("resolver veth %s of e2e-dns2: %v", qnd, l)
	}
	if err := other.c.Config.DelNetworkList(harness.Context(t), other.c.List, harness.RT("dns-other", "", "eth0")); err != nil {
		t.Fatal(err)
	}
	e.d.MustQnetctl("network", "delete", "e2e-dns2")
	eventually(t, "the deleted network's resolver endpoint gone", func() error {
		if l := sbx.HostLinks(qnd); len(l) != 0 {
			return fmt.Errorf("veth %v", l)
		}
		if p := sbx.Tool(t, "ovs-vsctl", "list-ports", "br-int"); strings.Contains(p, qnd) {
			return fmt.Errorf("OVS port %s", qnd)
		}
		return nil
	})
}

// checkRenameDelete: a rename and a delete show within a second.
func checkRenameDelete(t *testing.T, e *sgEnv, cli, web ctr, res []string) {
	t.Helper()
	e.d.MustQnetctl("port", "set-dns-name", web.port, "www")
	took := eventually(t, "the new name", func() error {
		if got := digShort(cli.ns, "@"+res[0], "www.quantix.local"); got != web.ip4 {
			return fmt.Errorf("www: %q", got)
		}
		if out := digOut(cli.ns, "@"+res[0], "web.quantix.local"); !strings.Contains(out, "NXDOMAIN") {
			return fmt.Errorf("the old name still answers")
		}
		return nil
	})
	t.Logf("rename visible after %v", took)
	if err := web.del(); err != nil {
		t.Fatal(err)
	}
	took = eventually(t, "the deleted port's name gone", func() error {
		if out := digOut(cli.ns, "@"+res[0], "www.quantix.local"); !strings.Contains(out, "NXDOMAIN") {
			return fmt.Errorf("still answers")
		}
		return nil
	})
	t.Logf("delete visible after %v", took)
}
