package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) lbCmd() *cobra.Command {
	g := c.groupCmd("lb", "Load balancers: a VIP, listeners, members with health checks",
		c.lbCreateCmd(), c.lbSetCmd(), c.lbListCmd(),
		&cobra.Command{Use: "show NAME", Short: "Show a load balancer: listeners, members with their health (online/offline/unknown), DNS names",
			Example: "  qnetctl lb show web\n  qnetctl lb show web -o yaml", Args: exactly("NAME"),
			RunE: func(_ *cobra.Command, a []string) error {
				return rpc(c, (*rpcclient.Client).GetLoadBalancer, &api.LoadBalancerRef{Name: a[0]}, c.lbReply)
			}},
		&cobra.Command{Use: "delete NAME", Aliases: []string{"rm"}, Short: "Delete a load balancer (releases its VIP)",
			Example: "  qnetctl lb delete web", Args: exactly("NAME"),
			RunE: func(_ *cobra.Command, a []string) error {
				return rpc(c, (*rpcclient.Client).DeleteLoadBalancer, &api.LoadBalancerRef{Name: a[0]}, said[*api.Empty](c, "load balancer "+a[0]+" deleted"))
			}},
		c.groupCmd("listener", "Listeners: the ports a load balancer serves", c.lbListenerCmd(true), c.lbListenerCmd(false)),
		c.groupCmd("member", "Members: the ports or addresses a load balancer spreads over",
			c.lbMemberCmd("add"), c.lbMemberCmd("delete"), c.lbMemberCmd("enable"), c.lbMemberCmd("disable")),
		c.groupCmd("health-check", "Health checks of a load balancer's members", c.lbHealthCmd(true), c.lbHealthCmd(false)))
	g.Example = `  qnetctl lb create web --network blue --vip 10.0.1.100
  qnetctl lb listener add web 80 --member-port 8080
  qnetctl lb member add web web1-nic0
  qnetctl lb show web`
	return g
}

func (c *cli) lbReply(l *api.LoadBalancer, err error) error {
	if err != nil {
		return err
	}
	if c.structured() {
		return c.print(l)
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

func (c *cli) lbCreateCmd() *cobra.Command {
	req := &api.LoadBalancer{}
	cmd := &cobra.Command{
		Use:   "create NAME --network NET --vip IP",
		Short: "Create a load balancer with a VIP on a network",
		Example: `  qnetctl lb create web --network blue --vip 10.0.1.100
  qnetctl lb create dns --network blue --vip 10.0.1.53 --protocol udp --fip 192.0.2.60 --affinity-timeout 300`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Name = a[0]
			return rpc(c, (*rpcclient.Client).CreateLoadBalancer, req, c.lbReply)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&req.Network, "network", "", "the network")
	fs.StringVar(&req.Vip, "vip", "", "the virtual IP (an address of the network's subnet)")
	fs.StringVar(&req.Protocol, "protocol", "tcp", "tcp, udp or sctp")
	fs.StringVar(&req.Fip, "fip", "", "a floating IP the listeners are also on (of the router's gateway network)")
	fs.Uint32Var(&req.AffinityTimeout, "affinity-timeout", 0, "session affinity, seconds (0: none)")
	return cmd
}

func (c *cli) lbListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List load balancers",
		Example: `  qnetctl lb list
  qnetctl lb list -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				got, err := cl.ListLoadBalancers(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, got.LoadBalancers)
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
		},
	}
}

func (c *cli) lbListenerCmd(add bool) *cobra.Command {
	var mport uint32
	var name string
	cmd := &cobra.Command{
		Use:   "add NAME PORT",
		Short: "Add a listener: the VIP's PORT to the members' --member-port",
		Example: `  qnetctl lb listener add web 80 --member-port 8080
  qnetctl lb listener add web 443 --name https`,
		Args: exactly("NAME PORT"),
		RunE: func(_ *cobra.Command, a []string) error {
			port, err := portArg("lb listener: port", a[1])
			if err != nil {
				return err
			}
			if mport == 0 {
				mport = port
			}
			if mport > 65535 {
				return usageErr(fmt.Sprintf("lb listener: --member-port %d is out of range 1-65535", mport))
			}
			req := &api.LoadBalancerListener{Name: a[0], Listener: &api.Listener{Port: port, MemberPort: mport, Name: name}}
			if add {
				return rpc(c, (*rpcclient.Client).AddListener, req, c.lbReply)
			}
			return rpc(c, (*rpcclient.Client).DeleteListener, req, c.lbReply)
		},
	}
	if add {
		cmd.Flags().Uint32Var(&mport, "member-port", 0, "the members' port (default: the listener's)")
		cmd.Flags().StringVar(&name, "name", "", "the listener's SRV service name (default: the port number)")
	} else {
		cmd.Use, cmd.Aliases, cmd.Short = "delete NAME PORT", []string{"rm"}, "Delete a listener"
		cmd.Example = `  qnetctl lb listener delete web 80`
	}
	return cmd
}

// lbMemberCmd is lb member add|delete|enable|disable (op).
func (c *cli) lbMemberCmd(op string) *cobra.Command {
	req := &api.LoadBalancerMemberRef{Enabled: op == "enable"}
	f := map[string]func(*rpcclient.Client, context.Context, *api.LoadBalancerMemberRef, ...grpc.CallOption) (*api.LoadBalancer, error){
		"add": (*rpcclient.Client).AddMember, "delete": (*rpcclient.Client).DeleteMember,
	}[op]
	if f == nil {
		f = (*rpcclient.Client).SetMemberEnabled
	}
	short := map[string]string{
		"add":     "Add a member: a port of the network or of a network routed to it, or an address",
		"delete":  "Delete a member",
		"enable":  "Put a member back into rotation",
		"disable": "Take a member out of rotation (it stays a member)",
	}[op]
	cmd := &cobra.Command{
		Use:     op + " NAME PORT-OR-ADDRESS",
		Short:   short,
		Example: fmt.Sprintf("  qnetctl lb member %s web web1-nic0", op),
		Args:    exactly("NAME PORT-OR-ADDRESS"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Name, req.Member = a[0], a[1]
			return rpc(c, f, req, c.lbReply)
		},
	}
	if op == "add" {
		cmd.Example += "\n  qnetctl lb member add web 10.0.2.20 --weight 1"
		cmd.Flags().Uint32Var(&req.Weight, "weight", 0, "member weight: only 1 (OVN 23.03 has no weights)")
	}
	if op == "delete" {
		cmd.Aliases = []string{"rm"}
	}
	return cmd
}

func (c *cli) lbSetCmd() *cobra.Command {
	var fip string
	var affinity uint32
	cmd := &cobra.Command{
		Use:   "set NAME [--fip FIP|\"\"] [--affinity-timeout S]",
		Short: "Change a load balancer's floating IP and session affinity",
		Example: `  qnetctl lb set web --fip 192.0.2.60
  qnetctl lb set web --fip "" --affinity-timeout 0`,
		Args: exactly("NAME"),
		RunE: func(cmd *cobra.Command, a []string) error {
			req := &api.LoadBalancerUpdate{Name: a[0]}
			if cmd.Flags().Changed("fip") {
				req.Fip = &fip
			}
			if cmd.Flags().Changed("affinity-timeout") {
				req.AffinityTimeout = &affinity
			}
			if req.Fip == nil && req.AffinityTimeout == nil {
				return usageErr("lb set: nothing to set: give --fip or --affinity-timeout")
			}
			return rpc(c, (*rpcclient.Client).UpdateLoadBalancer, req, c.lbReply)
		},
	}
	cmd.Flags().StringVar(&fip, "fip", "", `a floating IP the listeners are also on ("": none)`)
	cmd.Flags().Uint32Var(&affinity, "affinity-timeout", 0, "session affinity, seconds (0: none)")
	return cmd
}

func (c *cli) lbHealthCmd(set bool) *cobra.Command {
	h := &api.HealthCheck{}
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Probe the members; only online ones get traffic",
		Example: `  qnetctl lb health-check set web
  qnetctl lb health-check set web --interval 10 --timeout 3 --success 2 --failure 3`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			req := &api.LoadBalancerHealthCheckSet{Name: a[0]}
			if set {
				req.HealthCheck = h
			}
			return rpc(c, (*rpcclient.Client).SetHealthCheck, req, c.lbReply)
		},
	}
	if set {
		cmd.Flags().Uint32Var(&h.Interval, "interval", 5, "seconds between probes")
		cmd.Flags().Uint32Var(&h.Timeout, "timeout", 2, "seconds to wait for an answer")
		cmd.Flags().Uint32Var(&h.Success, "success", 2, "answers to be online")
		cmd.Flags().Uint32Var(&h.Failure, "failure", 3, "failures to be offline")
	} else {
		cmd.Use, cmd.Short, cmd.Example = "clear NAME", "Stop probing the members (all get traffic)", "  qnetctl lb health-check clear web"
	}
	return cmd
}
