package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

const lbUsage = `  lb create NAME --network NET --vip IP [--protocol tcp|udp|sctp] [--fip FIP] [--affinity-timeout S]
  lb set NAME [--fip FIP|""] [--affinity-timeout S]   listeners also on a floating IP; session affinity (0: off)
  lb list
  lb show NAME                             listeners, members with their health (online/offline/unknown), DNS names
  lb delete NAME                           releases the VIP
  lb listener add NAME PORT --member-port PORT [--name NAME]   name: the SRV service (default: the port)
  lb listener delete NAME PORT
  lb member add NAME PORT-OR-ADDRESS [--weight 1]   a port of the network or of a network routed to it
  lb member delete NAME PORT-OR-ADDRESS
  lb member enable|disable NAME MEMBER     in or out of rotation, kept
  lb health-check set NAME --interval S --timeout S --success N --failure N
  lb health-check clear NAME
`

// lbCommand runs the lb commands; ok is false for others.
func (c *cli) lbCommand(rest []string) (ok bool, err error) {
	three := map[string]func([]string) error{
		"lb listener add":       func(a []string) error { return c.lbListener(a, true) },
		"lb listener delete":    func(a []string) error { return c.lbListener(a, false) },
		"lb member add":         func(a []string) error { return c.lbMember(a, "add") },
		"lb member delete":      func(a []string) error { return c.lbMember(a, "delete") },
		"lb member enable":      func(a []string) error { return c.lbMember(a, "enable") },
		"lb member disable":     func(a []string) error { return c.lbMember(a, "disable") },
		"lb health-check set":   func(a []string) error { return c.lbHealth(a, true) },
		"lb health-check clear": func(a []string) error { return c.lbHealth(a, false) },
	}
	if f, ok := three[strings.Join(rest[:min(3, len(rest))], " ")]; ok {
		return true, f(rest[3:])
	}
	two := map[string]func([]string) error{
		"lb create": c.lbCreate, "lb list": c.lbList, "lb ls": c.lbList, "lb show": c.lbShow,
		"lb delete": c.lbDelete, "lb rm": c.lbDelete, "lb set": c.lbSet,
	}
	if f, ok := two[strings.Join(rest[:min(2, len(rest))], " ")]; ok {
		return true, f(rest[2:])
	}
	return false, nil
}

func (c *cli) lbReply(l *api.LoadBalancer, err error) error {
	if err != nil {
		return err
	}
	if c.output == "json" {
		return c.json(l)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\nnetwork:\t%s\nvip:\t%s\nprotocol:\t%s\n", l.Name, l.Network, l.Vip, l.Protocol)
	if l.Fip != "" {
		fmt.Fprintf(w, "floating ip:\t%s\n", l.Fip)
	}
	if l.AffinityTimeout > 0 {
		fmt.Fprintf(w, "affinity:\t%ds\n", l.AffinityTimeout)
	}
	for _, x := range l.Listeners {
		fmt.Fprintf(w, "listener:\t%s: %d -> member port %d\n", x.Name, x.Port, x.MemberPort)
	}
	for _, n := range l.DnsNames {
		fmt.Fprintf(w, "dns name:\t%s\n", n)
	}
	if h := l.HealthCheck; h != nil {
		fmt.Fprintf(w, "health check:\tinterval %ds, timeout %ds, success %d, failure %d\n", h.Interval, h.Timeout, h.Success, h.Failure)
	}
	for _, m := range l.Members {
		id, state := m.Port, "enabled"
		if id == "" {
			id = m.Address
		}
		if !m.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(w, "member:\t%s %s %s network=%s address=%s\n", id, state, m.Health, dash(m.Network), dash(m.Resolved))
	}
	return w.Flush()
}

func (c *cli) lbCreate(args []string) error {
	fs := flag.NewFlagSet("lb create", flag.ContinueOnError)
	req := &api.LoadBalancer{}
	fs.StringVar(&req.Network, "network", "", "the network")
	fs.StringVar(&req.Vip, "vip", "", "the virtual IP (an address of the network's subnet)")
	fs.StringVar(&req.Protocol, "protocol", "tcp", "tcp, udp or sctp")
	fs.StringVar(&req.Fip, "fip", "", "a floating IP the listeners are also on (of the router's gateway network)")
	fs.Func("affinity-timeout", "session affinity, seconds (0: none)", uintFlag(&req.AffinityTimeout))
	a, err := positionals(fs, args, 1, "lb create", "NAME is")
	if err != nil {
		return err
	}
	req.Name = a[0]
	return rpc(c, (*rpcclient.Client).CreateLoadBalancer, req, c.lbReply)
}

func (c *cli) lbShow(args []string) error {
	a, err := bare(args, 1, "lb show", "NAME is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).GetLoadBalancer, &api.LoadBalancerRef{Name: a[0]}, c.lbReply)
}

func (c *cli) lbList([]string) error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.ListLoadBalancers(ctx, &api.Empty{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(got)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tNETWORK\tVIP\tFIP\tPROTOCOL\tLISTENERS\tMEMBERS")
		for _, l := range got.LoadBalancers {
			ports := make([]string, len(l.Listeners))
			for i, x := range l.Listeners {
				ports[i] = strconv.Itoa(int(x.Port))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", l.Name, l.Network, l.Vip, dash(l.Fip), l.Protocol, dash(strings.Join(ports, ",")), len(l.Members))
		}
		return w.Flush()
	})
}

func (c *cli) lbDelete(args []string) error {
	a, err := bare(args, 1, "lb delete", "NAME is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).DeleteLoadBalancer, &api.LoadBalancerRef{Name: a[0]}, said[*api.Empty](c, "load balancer "+a[0]+" deleted"))
}

func (c *cli) lbListener(args []string, add bool) error {
	fs := flag.NewFlagSet("lb listener", flag.ContinueOnError)
	mport := fs.Int("member-port", 0, "the members' port (default: the listener's)")
	name := fs.String("name", "", "the listener's SRV service name (default: the port number)")
	a, err := positionals(fs, args, 2, "lb listener", "NAME and PORT are")
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(a[1])
	if err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("lb listener: port %q is not a port number (1-65535)", a[1])
	}
	if *mport == 0 {
		*mport = port
	}
	if *mport < 1 || *mport > 65535 {
		return fmt.Errorf("lb listener: --member-port %d is out of range 1-65535", *mport)
	}
	req := &api.LoadBalancerListener{Name: a[0], Listener: &api.Listener{Port: uint32(port), MemberPort: uint32(*mport), Name: *name}}
	f := (*rpcclient.Client).DeleteListener
	if add {
		f = (*rpcclient.Client).AddListener
	}
	return rpc(c, f, req, c.lbReply)
}

// lbMember runs lb member add|delete|enable|disable (op).
func (c *cli) lbMember(args []string, op string) error {
	fs := flag.NewFlagSet("lb member "+op, flag.ContinueOnError)
	req := &api.LoadBalancerMemberRef{Enabled: op == "enable"}
	if op == "add" {
		fs.Func("weight", "member weight: only 1 (OVN 23.03 has no weights)", uintFlag(&req.Weight))
	}
	a, err := positionals(fs, args, 2, "lb member "+op, "NAME and MEMBER are")
	if err != nil {
		return err
	}
	req.Name, req.Member = a[0], a[1]
	f := map[string]func(*rpcclient.Client, context.Context, *api.LoadBalancerMemberRef, ...grpc.CallOption) (*api.LoadBalancer, error){
		"add": (*rpcclient.Client).AddMember, "delete": (*rpcclient.Client).DeleteMember,
	}[op]
	if f == nil {
		f = (*rpcclient.Client).SetMemberEnabled
	}
	return rpc(c, f, req, c.lbReply)
}

func (c *cli) lbSet(args []string) error {
	fs := flag.NewFlagSet("lb set", flag.ContinueOnError)
	req := &api.LoadBalancerUpdate{}
	fs.Func("fip", `a floating IP the listeners are also on ("": none)`, func(s string) error { req.Fip = &s; return nil })
	fs.Func("affinity-timeout", "session affinity, seconds (0: none)", func(s string) error {
		var v uint32
		if err := uintFlag(&v)(s); err != nil {
			return err
		}
		req.AffinityTimeout = &v
		return nil
	})
	a, err := positionals(fs, args, 1, "lb set", "NAME is")
	if err != nil {
		return err
	}
	if req.Fip == nil && req.AffinityTimeout == nil {
		return fmt.Errorf("lb set: nothing to set: give --fip or --affinity-timeout")
	}
	req.Name = a[0]
	return rpc(c, (*rpcclient.Client).UpdateLoadBalancer, req, c.lbReply)
}

func (c *cli) lbHealth(args []string, set bool) error {
	fs := flag.NewFlagSet("lb health-check", flag.ContinueOnError)
	h := &api.HealthCheck{}
	fs.Func("interval", "seconds between probes (default 5)", uintFlag(&h.Interval))
	fs.Func("timeout", "seconds to wait for an answer (default 2)", uintFlag(&h.Timeout))
	fs.Func("success", "answers to be online (default 2)", uintFlag(&h.Success))
	fs.Func("failure", "failures to be offline (default 3)", uintFlag(&h.Failure))
	h.Interval, h.Timeout, h.Success, h.Failure = 5, 2, 2, 3
	a, err := positionals(fs, args, 1, "lb health-check", "NAME is")
	if err != nil {
		return err
	}
	req := &api.LoadBalancerHealthCheckSet{Name: a[0]}
	if set {
		req.HealthCheck = h
	}
	return rpc(c, (*rpcclient.Client).SetHealthCheck, req, c.lbReply)
}

func uintFlag(p *uint32) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a non-negative number", s)
		}
		*p = uint32(v)
		return nil
	}
}
