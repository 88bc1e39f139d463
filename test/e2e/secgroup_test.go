package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

// sgEnv is one daemon, one dual-stack network and its containers, for the
// security group tests.
type sgEnv struct {
	t   *testing.T
	d   *harness.Daemon
	net string
	c   *harness.CNI
}

type ctr struct {
	ns, ip4, ip6, port string
	del                func() error // CNI DEL
	dns                []string     // the CNI result's DNS nameservers
	search             []string
}

func newSGEnv(t *testing.T, network, subnet4, subnet6 string) *sgEnv {
	return newSGEnvWith(t, network, subnet4, subnet6, "")
}

// newSGEnvWith is newSGEnv with more daemon config.
func newSGEnvWith(t *testing.T, network, subnet4, subnet6, config string) *sgEnv {
	env.Require(t)
	d := launchWith(t, func(c *harness.DaemonConfig) { c.Extra = config })
	d.MustReady()
	return newSGEnvOn(t, d, network, subnet4, subnet6)
}

// newSGEnvOn makes another network on a running daemon.
func newSGEnvOn(t *testing.T, d *harness.Daemon, network, subnet4, subnet6 string) *sgEnv {
	d.MustQnetctl("network", "create", network, "--subnet4", subnet4, "--subnet6", subnet6)
	t.Cleanup(func() { d.Qnetctl("network", "delete", network) })
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList(network+"-cni", network, d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	return &sgEnv{t: t, d: d, net: network, c: c}
}

// group creates a security group with rules, deleted at cleanup (after
// the containers that use it, which are added later).
func (e *sgEnv) group(name string, rules ...string) {
	e.t.Helper()
	args := []string{"sg", "create", name}
	for _, r := range rules {
		args = append(args, "--rule", r)
	}
	e.d.MustQnetctl(args...)
	e.t.Cleanup(func() { e.d.Qnetctl("sg", "delete", name) })
}

// container attaches a new namespace with security groups given the way a
// runtime passes per-container arguments (CNI_ARGS).
func (e *sgEnv) container(id string, groups ...string) ctr {
	e.t.Helper()
	return e.containerWith(e.c, id, groups...)
}

func (e *sgEnv) containerWith(c *harness.CNI, id string, groups ...string) ctr {
	e.t.Helper()
	var args [][2]string
	if len(groups) > 0 {
		args = [][2]string{{"SECURITY_GROUPS", strings.Join(groups, ",")}}
	}
	return e.attach(c, id, args)
}

// containerArgs attaches a namespace with CNI_ARGS.
func (e *sgEnv) containerArgs(id string, args ...[2]string) ctr {
	e.t.Helper()
	return e.attach(e.c, id, args)
}

func (e *sgEnv) attach(c *harness.CNI, id string, args [][2]string) ctr {
	e.t.Helper()
	path := harness.Netns(e.t, id)
	r := harness.RT(id, path, "eth0")
	if len(args) > 0 {
		r.Args = append([][2]string{{"IgnoreUnknown", "1"}}, args...)
	}
	res, err := c.Config.AddNetworkList(harness.Context(e.t), c.List, r)
	if err != nil {
		e.t.Fatalf("ADD %s: %v", id, err)
	}
	del := func() error { return c.Config.DelNetworkList(harness.Context(e.t), c.List, r) }
	e.t.Cleanup(func() { del() })
	cur := mustCurrent(e.t, res)
	out := ctr{ns: path, port: e.portOf(id), del: del, dns: cur.DNS.Nameservers, search: cur.DNS.Search}
	for _, ip := range cur.IPs {
		if ip.Address.IP.To4() != nil {
			out.ip4 = ip.Address.IP.String()
		} else {
			out.ip6 = ip.Address.IP.String()
		}
	}
	return out
}

// portOf finds a container's logical port with qnetctl.
func (e *sgEnv) portOf(containerID string) string {
	e.t.Helper()
	var ports []struct {
		Name           string   `json:"name"`
		ContainerID    string   `json:"container_id"`
		SecurityGroups []string `json:"security_groups"`
	}
	if err := json.Unmarshal([]byte(e.d.MustQnetctl("-o", "json", "port", "list", "--network", e.net)), &ports); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ports {
		if p.ContainerID == containerID {
			return p.Name
		}
	}
	e.t.Fatalf("no port of container %s", containerID)
	return ""
}

// TestSecurityGroupsTraffic: rules admit exactly the TCP, UDP and ICMP they
// name, on a port that got its group from the CNI config; a preset added to
// a live group takes effect; an admin deny overrides a user allow.
func TestSecurityGroupsTraffic(t *testing.T) {
	e := newSGEnv(t, "e2e-sg", "10.210.0.0/24", "fd00:210::/64")
	e.group("web", "ingress tcp 8080", "ingress udp 9000")
	// The server gets its group from the CNI config, the client has none.
	conf, err := harness.NewCNI(t, env.Bin, harness.ConfList("e2e-sg-web", e.net, e.d.Socket, `,"securityGroups":["web"]`))
	if err != nil {
		t.Fatal(err)
	}
	srv := e.containerWith(conf, "sg-srv")
	cli := e.container("sg-cli")
	if out := e.d.MustQnetctl("port", "show", srv.port); !regexp.MustCompile(`security groups:\s+web\n`).MatchString(out) {
		t.Fatalf("port show does not name the group:\n%s", out)
	}
	serveTCP(t, srv.ns, 8080)
	serveTCP(t, srv.ns, 8081)
	serveUDP(t, srv.ns, 9000)
	serveUDP(t, srv.ns, 9001)
	serveTCP(t, cli.ns, 7000)

	allowed(t, "tcp 8080 (allowed)", tcpOK(cli.ns, srv.ip4, 8080))
	blocked(t, "tcp 8081 (no rule)", tcpOK(cli.ns, srv.ip4, 8081))
	allowed(t, "udp 9000 (allowed)", udpEcho(cli.ns, srv.ip4, 9000))
	blocked(t, "udp 9001 (no rule)", udpEcho(cli.ns, srv.ip4, 9001))
	blocked(t, "ping (no icmp rule)", pingOnce(cli.ns, srv.ip4))
	blocked(t, "tcp 8080 over IPv6 (the rules are IPv4)", tcpOK(cli.ns, srv.ip6, 8080))
	// Egress is open: the server reaches the client.
	allowed(t, "server to client (egress open)", tcpOK(srv.ns, cli.ip4, 7000))

	out := e.d.MustQnetctl("sg", "preset", "add", "web", "icmp")
	if !strings.Contains(out, "ingress ipv4 icmp") {
		t.Fatalf("preset add output:\n%s", out)
	}
	took := eventually(t, "ping after the icmp preset", func() error { return pingOnce(cli.ns, srv.ip4) })
	t.Logf("icmp preset effective after %v", took)

	// An admin deny beats the user allow; deleting it (by its text) restores it.
	e.d.MustQnetctl("sg", "rule", "add", "web", "admin", "deny", "ingress", "tcp", "8080", "from", cli.ip4)
	eventually(t, "admin deny effective", func() error {
		if err := tcpOK(cli.ns, srv.ip4, 8080); err == nil {
			return errTimeout
		}
		return nil
	})
	e.d.MustQnetctl("sg", "rule", "delete", "web", "admin deny ingress tcp 8080 from "+cli.ip4+"/32")
	eventually(t, "tcp 8080 after the admin deny is deleted", func() error { return tcpQuick(cli.ns, srv.ip4, 8080) })

	// The group shows its rules and member; deleting it is refused while the
	// server is in it.
	show := e.d.MustQnetctl("sg", "show", "web")
	for _, want := range []string{"ingress ipv4 tcp 8080", "ingress ipv4 udp 9000", "ingress ipv4 icmp", srv.port} {
		if !strings.Contains(show, want) {
			t.Errorf("sg show lacks %q:\n%s", want, show)
		}
	}
	if out, err := e.d.Qnetctl("sg", "delete", "web"); err == nil || !strings.Contains(out, srv.port) {
		t.Fatalf("deleting a group in use: err=%v\n%s", err, out)
	}
}

// TestSecurityGroupsRemoteGroup: a rule from another group admits its
// members only; putting a port in that group lets it in without touching
// any rule, within a second or so (logged).
func TestSecurityGroupsRemoteGroup(t *testing.T) {
	e := newSGEnv(t, "e2e-sgr", "10.211.0.0/24", "fd00:211::/64")
	e.group("app")
	e.group("db", "ingress tcp 5432 from sg:app", "ingress ipv6 tcp 5432 from sg:app")
	db := e.container("sgr-db", "db")
	member := e.container("sgr-app", "app")
	other := e.container("sgr-other")
	serveTCP(t, db.ns, 5432)

	allowed(t, "member to db", tcpOK(member.ns, db.ip4, 5432))
	allowed(t, "member to db over IPv6", tcpOK(member.ns, db.ip6, 5432))
	blocked(t, "non-member to db", tcpOK(other.ns, db.ip4, 5432))

	out := e.d.MustQnetctl("port", "set-security-groups", other.port, "app")
	if !strings.Contains(out, "app") {
		t.Fatalf("set-security-groups: %s", out)
	}
	took := eventually(t, "new member to db", func() error { return tcpQuick(other.ns, db.ip4, 5432) })
	t.Logf("new member admitted after %v", took)
	if show := e.d.MustQnetctl("sg", "show", "app"); !strings.Contains(show, other.port) || !strings.Contains(show, member.port) {
		t.Fatalf("sg show app lacks its members:\n%s", show)
	}
	// Out of the group again: dropped again.
	e.d.MustQnetctl("port", "set-security-groups", other.port)
	eventually(t, "former member dropped", func() error {
		if err := tcpOK(other.ns, db.ip4, 5432); err == nil {
			return errTimeout
		}
		return nil
	})

	// DEL takes a port out of its groups: then the group can go, and its
	// rows with it.
	if out, err := e.d.Qnetctl("sg", "delete", "db"); err == nil {
		t.Fatalf("deleted a group with a member:\n%s", out)
	}
	if err := db.del(); err != nil {
		t.Fatal(err)
	}
	e.d.MustQnetctl("sg", "delete", "db")
	if rows := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=name", "find", "Port_Group", "name=qn_sg_db"); rows != "" {
		t.Fatalf("port group of a deleted group left: %s", rows)
	}
	if rows := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=_uuid", "find", "ACL", "external_ids:quantumnet\\:sg=db"); rows != "" {
		t.Fatalf("ACLs of a deleted group left: %s", rows)
	}
}

// TestSecurityGroupsEgressAndStateless: egress rules restrict outbound;
// replies to an allowed inbound connection pass without an egress rule; a
// stateless rule's replies need their own rule.
func TestSecurityGroupsEgressAndStateless(t *testing.T) {
	e := newSGEnv(t, "e2e-sge", "10.212.0.0/24", "fd00:212::/64")
	e.group("out", "ingress tcp 8443", "ingress tcp 8090 stateless", "egress tcp 7000")
	peer := e.container("sge-peer")
	host := e.container("sge-host", "out")
	serveTCP(t, peer.ns, 7000)
	serveTCP(t, peer.ns, 7001)
	serveTCP(t, host.ns, 8443)
	serveTCP(t, host.ns, 8090)

	allowed(t, "egress tcp 7000 (rule)", tcpOK(host.ns, peer.ip4, 7000))
	blocked(t, "egress tcp 7001 (no rule, egress restricted)", tcpOK(host.ns, peer.ip4, 7001))
	blocked(t, "egress ping (no rule)", pingOnce(host.ns, peer.ip4))
	allowed(t, "inbound 8443: the replies pass without an egress rule", tcpOK(peer.ns, host.ip4, 8443))
	blocked(t, "inbound 8090 stateless: the replies have no rule", tcpOK(peer.ns, host.ip4, 8090))
	// DNS to the network's resolver is never blocked, restricted egress or not.
	res := e.resolvers()
	if out := digOut(host.ns, "@"+res[0], "nosuch.quantix.local"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Fatalf("a port with restricted egress cannot reach the resolver:\n%s", out)
	}
	if out := digOut(host.ns, "@"+res[1], "nosuch.quantix.local"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Fatalf("a port with restricted egress cannot reach the IPv6 resolver:\n%s", out)
	}

	e.d.MustQnetctl("sg", "rule", "add", "out", "egress tcp stateless")
	eventually(t, "inbound 8090 once replies have a stateless rule", func() error { return tcpQuick(peer.ns, host.ip4, 8090) })

	// Without egress rules the group leaves egress open again.
	for _, r := range []string{"egress tcp 7000", "egress tcp stateless"} {
		e.d.MustQnetctl("sg", "rule", "delete", "out", r)
	}
	eventually(t, "egress tcp 7001 once no egress rule restricts", func() error { return tcpQuick(host.ns, peer.ip4, 7001) })
}

// TestSecurityGroupsIPv6: an IPv6 rule admits IPv6 only, and neighbour
// discovery works on a port whose group has no ICMPv6 rule.
func TestSecurityGroupsIPv6(t *testing.T) {
	e := newSGEnv(t, "e2e-sg6", "10.213.0.0/24", "fd00:213::/64")
	e.group("v6web", "ingress ipv6 tcp 8080")
	srv := e.container("sg6-srv", "v6web")
	cli := e.container("sg6-cli")
	serveTCP(t, srv.ns, 8080)
	allowed(t, "tcp 8080 over IPv6 (needs ND)", tcpOK(cli.ns, srv.ip6, 8080))
	blocked(t, "tcp 8080 over IPv4", tcpOK(cli.ns, srv.ip4, 8080))
	blocked(t, "ping6 (no icmpv6 rule)", pingOnce(cli.ns, srv.ip6))
	// The client learned the server's address by ND.
	out, _ := execIn(cli.ns, "ip", "-6", "neigh", "show", srv.ip6)
	if !strings.Contains(out, "lladdr") {
		t.Fatalf("no neighbour entry for %s in the client: %q", srv.ip6, out)
	}
}

// TestSecurityGroupsLiveChange: changing a live port's groups takes effect
// at once and breaks no allowed established connection.
func TestSecurityGroupsLiveChange(t *testing.T) {
	e := newSGEnv(t, "e2e-sgl", "10.214.0.0/24", "fd00:214::/64")
	e.group("web", "ingress tcp 8080")
	e.group("pg", "ingress tcp 5432")
	e.group("iso")
	srv := e.container("sgl-srv", "web")
	cli := e.container("sgl-cli")
	for _, p := range []int{8080, 5432, 9999} {
		serveTCP(t, srv.ns, p)
	}
	conn, err := dialTCP(cli.ns, srv.ip4, 8080)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.c.Close()
	blocked(t, "tcp 5432 before", tcpOK(cli.ns, srv.ip4, 5432))

	e.d.MustQnetctl("port", "set-security-groups", srv.port, "web,pg")
	took := eventually(t, "tcp 5432 after adding group pg", func() error { return tcpQuick(cli.ns, srv.ip4, 5432) })
	t.Logf("group added to a live port: effective after %v", took)
	allowed(t, "established 8080 connection after adding a group", conn.echo("still here"))

	e.d.MustQnetctl("port", "set-security-groups", srv.port)
	eventually(t, "tcp 9999 with no groups (the network default: allow)", func() error { return tcpQuick(cli.ns, srv.ip4, 9999) })
	allowed(t, "established 8080 connection with no groups", conn.echo("and here"))

	e.d.MustQnetctl("port", "set-security-groups", srv.port, "iso")
	eventually(t, "new connections dropped in a group without rules", func() error {
		if err := tcpOK(cli.ns, srv.ip4, 8080); err == nil {
			return errTimeout
		}
		return nil
	})
}

// TestSecurityGroupErrors: bad rules and references are refused with the
// field named, and leave nothing behind.
func TestSecurityGroupErrors(t *testing.T) {
	e := newSGEnv(t, "e2e-sgx", "10.215.0.0/24", "fd00:215::/64")
	e.group("base")
	for _, c := range []struct{ args, want string }{
		{"sg rule add base ingress tcp 80 from 10.0.0.300/8", "10.0.0.300"},
		{"sg rule add base ingress tcp 90-80", "90-80"},
		{"sg rule add base ingress tcp type 8", "type"},
		{"sg rule add base ingress gre", "gre"},
		{"sg rule add base ingress tcp 22 from sg:nosuch", "nosuch"},
		{"sg rule add nosuch ingress tcp 22", "not found"},
		{"sg create Bad_Name", "name"},
		{"sg create all", "reserved"},
		{"sg preset add base nosuch", "preset"},
		{"sg create base", "exists"},
	} {
		out, err := e.d.Qnetctl(strings.Fields(c.args)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("qnetctl %s: err=%v, want an error naming %q:\n%s", c.args, err, c.want, out)
		}
	}
	if show := e.d.MustQnetctl("sg", "show", "base"); !regexp.MustCompile(`(?m)^rules:\s+none`).MatchString(show) {
		t.Errorf("refused rules were added:\n%s", show)
	}
	// An ADD naming an unknown group is refused and leaves no port.
	path := harness.Netns(t, "sgx")
	r := harness.RT("sgx-ctr", path, "eth0")
	r.Args = [][2]string{{"IgnoreUnknown", "1"}, {"SECURITY_GROUPS", "nosuch"}}
	_, err := e.c.Config.AddNetworkList(harness.Context(t), e.c.List, r)
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("ADD with an unknown group: %v", err)
	}
	if p := sbx.NBPorts(t, e.net); len(p) != 0 {
		t.Fatalf("a refused ADD left ports %v", p)
	}
}
