package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// Load balancers in DNS (service names) and named at a container's start
// (CNI loadBalancers).

// digAnswer runs dig @server name type in nsPath and returns its answer
// section (+short).
func digAnswer(nsPath, server, name, qtype string) string {
	return digShort(nsPath, "@"+server, name, qtype)
}

// TestLoadBalancerDNS: a load balancer is <name>.<domain> (A to the VIP,
// and the VIP's PTR back to it) with an SRV record per listener (its A in the additional section), as a
// real dig in a container sees them through its network's resolver (and
// the A through OVN native DNS at the gateway);
// listener changes and the deletion show at once; the load balancer's
// name shadows a container of the same name, whose name answers again
// once the load balancer is gone.
func TestLoadBalancerDNS(t *testing.T) {
	e := newSGEnv(t, "e2e-lbdns", "10.241.0.0/24", "fd00:241::/64")
	res := e.resolvers()
	cli := e.containerArgs("lbd-cli", [2]string{"NAME", "client"})
	web := e.containerArgs("lbd-web", [2]string{"NAME", "web"})
	d := e.d
	const vip = "10.241.0.100"
	eventually(t, "the container's own name", func() error {
		if got := digAnswer(cli.ns, res[0], "web.quantix.local", "A"); got != web.ip4 {
			return fmt.Errorf("web.quantix.local A: %q, want %s", got, web.ip4)
		}
		return nil
	})
	d.MustQnetctl("lb", "create", "web", "--network", e.net, "--vip", vip)
	t.Cleanup(func() { d.Qnetctl("lb", "delete", "web") })
	took := eventually(t, "the load balancer's name", func() error {
		if got := digAnswer(cli.ns, res[0], "web.quantix.local", "A"); got != vip {
			return fmt.Errorf("web.quantix.local A: %q, want the VIP %s", got, vip)
		}
		return nil
	})
	t.Logf("load balancer name answered %v after create returned", took)
	// The VIP's reverse name answers the load balancer's name, through the
	// resolver and OVN native DNS alike.
	if got := digShort(cli.ns, "@"+res[0], "-x", vip); got != "web.quantix.local." {
		t.Errorf("dig -x %s: %q, want web.quantix.local.", vip, got)
	}
	eventually(t, "the VIP's reverse name in OVN native DNS", func() error {
		if got := digShort(cli.ns, "+noedns", "@10.241.0.1", "-x", vip); got != "web.quantix.local." {
			return fmt.Errorf("OVN native DNS -x %s: %q", vip, got)
		}
		return nil
	})
	// OVN native DNS (plain queries at the gateway) has the name too.
	eventually(t, "the load balancer's name in OVN native DNS", func() error {
		if got := digShort(cli.ns, "+noedns", "@10.241.0.1", "web.quantix.local"); got != vip {
			return fmt.Errorf("OVN native DNS web.quantix.local: %q, want %s", got, vip)
		}
		return nil
	})
	d.MustQnetctl("lb", "listener", "add", "web", "80", "--member-port", "8080")
	took = eventually(t, "SRV of the listener", func() error {
		if got := digAnswer(cli.ns, res[0], "_80._tcp.web.quantix.local", "SRV"); got != "0 0 80 web.quantix.local." {
			return fmt.Errorf("SRV: %q", got)
		}
		return nil
	})
	t.Logf("listener's SRV answered %v after listener add returned", took)
	// The SRV target's address comes with it; the name is case-insensitive,
	// and the IPv6 resolver answers the same.
	out := strings.Join(strings.Fields(digOut(cli.ns, "@"+res[1], "_80._TCP.Web.quantix.local", "SRV", "+noall", "+answer", "+additional")), " ")
	if !strings.Contains(out, "IN SRV 0 0 80 web.quantix.local.") || !strings.Contains(out, "web.quantix.local. 1 IN A "+vip) {
		t.Errorf("SRV with additional A over the v6 resolver:\n%s", out)
	}
	if out := digOut(cli.ns, "@"+res[0], "_81._tcp.web.quantix.local", "SRV"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("unknown listener:\n%s", out)
	}
	d.MustQnetctl("lb", "listener", "delete", "web", "80")
	eventually(t, "the deleted listener's SRV gone", func() error {
		if out := digOut(cli.ns, "@"+res[0], "_80._tcp.web.quantix.local", "SRV"); !strings.Contains(out, "status: NXDOMAIN") {
			return fmt.Errorf("SRV after listener delete:\n%s", out)
		}
		return nil
	})
	d.MustQnetctl("lb", "delete", "web")
	eventually(t, "the container's name back", func() error {
		if got := digAnswer(cli.ns, res[0], "web.quantix.local", "A"); got != web.ip4 {
			return fmt.Errorf("web.quantix.local A after lb delete: %q, want %s", got, web.ip4)
		}
		return nil
	})
	if out := digOut(cli.ns, "@"+res[0], "-x", vip); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("dig -x %s after lb delete:\n%s", vip, out)
	}
}

// TestLoadBalancerJoinAtStart: containers whose CNI args name a load
// balancer (CNI_ARGS LOAD_BALANCERS, or args.cni.loadBalancers in the
// config) are members and in rotation when ADD returns; an unknown load
// balancer fails the ADD naming it, with no port left.
func TestLoadBalancerJoinAtStart(t *testing.T) {
	e := newSGEnv(t, "e2e-lbjoin", "10.241.1.0/24", "fd00:241:1::/64")
	d := e.d
	const vip = "10.241.1.100"
	d.MustQnetctl("lb", "create", "web", "--network", e.net, "--vip", vip)
	t.Cleanup(func() { d.Qnetctl("lb", "delete", "web") })
	d.MustQnetctl("lb", "listener", "add", "web", "80", "--member-port", "8080")
	cli := e.container("lbj-cli")
	m1 := e.containerArgs("lbj-m1", [2]string{"LOAD_BALANCERS", "web"})
	withArgs, err := harness.NewCNI(t, env.Bin, harness.ConfList(e.net+"-lb", e.net, d.Socket, `,"args":{"cni":{"loadBalancers":["web"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	m2 := e.attach(withArgs, "lbj-m2", nil)
	harness.ServeTCPAnswer(t, m1.ns, 8080, "m1")
	harness.ServeTCPAnswer(t, m2.ns, 8080, "m2")
	out := d.MustQnetctl("lb", "show", "web")
	if !strings.Contains(out, m1.port) || !strings.Contains(out, m2.port) {
		t.Fatalf("lb show after ADD with loadBalancers:\n%s", out)
	}
	eventually(t, "both members through the VIP", func() error {
		if got := answers(cli.ns, vip, 20); got["m1"] == 0 || got["m2"] == 0 {
			return fmt.Errorf("answers %v", got)
		}
		return nil
	})
	// An unknown load balancer: ADD fails naming it; nothing is left.
	path := harness.Netns(t, "lbj-bad")
	r := harness.RT("lbj-bad", path, "eth0")
	r.Args = [][2]string{{"IgnoreUnknown", "1"}, {"LOAD_BALANCERS", "web,nope"}}
	_, err = e.c.Config.AddNetworkList(harness.Context(t), e.c.List, r)
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != rpcclient.CodeNotFound || !strings.Contains(ce.Msg, "loadBalancers") || !strings.Contains(ce.Msg, "nope") {
		t.Fatalf("ADD with an unknown load balancer: %v, want code %d naming loadBalancers and nope", err, rpcclient.CodeNotFound)
	}
	if out := d.MustQnetctl("port", "list", "--network", e.net); strings.Contains(out, "lbj-bad") {
		t.Errorf("a port of the refused ADD is left:\n%s", out)
	}
	if out := d.MustQnetctl("lb", "show", "web"); strings.Count(out, "enabled") != 2 {
		t.Errorf("members after the refused ADD:\n%s", out)
	}
}
