package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) routerCmd() *cobra.Command {
	g := c.groupCmd("router", "Routers: networks, static routes, a gateway on an external network",
		c.routerNameCmd("create", "Create a router", `  qnetctl router create r1`,
			func(n string) error {
				return rpc(c, (*rpcclient.Client).CreateRouter, &api.Router{Name: n}, c.routerReply("router "+n+" created"))
			}),
		c.routerListCmd(),
		c.routerNameCmd("show", "Show a router: networks, routes, gateway, its chassis and the active one",
			"  qnetctl router show r1\n  qnetctl router show r1 -o json",
			func(n string) error {
				return rpc(c, (*rpcclient.Client).GetRouter, &api.RouterRef{Name: n}, c.routerReply(""))
			}),
		c.routerNameCmd("delete", "Delete a router (refused while networks or a gateway are attached)", `  qnetctl router delete r1`,
			func(n string) error {
				return rpc(c, (*rpcclient.Client).DeleteRouter, &api.RouterRef{Name: n}, said[*api.Empty](c, "router "+n+" deleted"))
			}),
		c.routerNetworkCmd(true), c.routerNetworkCmd(false),
		c.groupCmd("route", "Static routes of a router", c.routeCmd(true), c.routeCmd(false)),
		c.routerSetGatewayCmd(),
		c.routerNameCmd("clear-gateway", "Remove a router's gateway (its floating IPs first)", `  qnetctl router clear-gateway r1`,
			func(n string) error {
				return rpc(c, (*rpcclient.Client).ClearRouterGateway, &api.RouterRef{Name: n}, c.routerReply("gateway of router "+n+" cleared"))
			}))
	g.Example = `  qnetctl router create r1
  qnetctl router attach r1 blue
  qnetctl router set-gateway r1 ext
  qnetctl router show r1`
	return g
}

// routerNameCmd is a router command taking only the router's name.
func (c *cli) routerNameCmd(verb, short, example string, run func(name string) error) *cobra.Command {
	use := verb + " NAME"
	if strings.Contains(verb, "gateway") {
		use = verb + " ROUTER"
	}
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: exactly(strings.Fields(use)[1]),
		RunE: func(_ *cobra.Command, a []string) error { return run(a[0]) }}
	if verb == "delete" {
		cmd.Aliases = []string{"rm"}
	}
	return cmd
}

// routerReply is the reply of a call answering with a router: msg (""
// none) and the router.
func (c *cli) routerReply(msg string) func(*api.Router, error) error {
	return func(got *api.Router, err error) error {
		if err != nil {
			return err
		}
		if c.structured() {
			return c.print(got)
		}
		if msg != "" {
			fmt.Fprintln(c.out, msg)
		}
		return c.printRouter(got)
	}
}

func (c *cli) routerNetworkCmd(attach bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "attach ROUTER NETWORK",
		Short:   "Attach a network: its gateway becomes a port of the router",
		Example: `  qnetctl router attach r1 blue`,
		Args:    exactly("ROUTER NETWORK"),
		RunE: func(_ *cobra.Command, a []string) error {
			req := &api.RouterNetwork{Router: a[0], Network: a[1]}
			if attach {
				return rpc(c, (*rpcclient.Client).AttachNetwork, req, c.routerReply(fmt.Sprintf("network %s attached to router %s", a[1], a[0])))
			}
			return rpc(c, (*rpcclient.Client).DetachNetwork, req, c.routerReply(fmt.Sprintf("network %s detached from router %s", a[1], a[0])))
		},
	}
	if !attach {
		cmd.Use = "detach ROUTER NETWORK"
		cmd.Short = "Detach a network (refused while its ports hold floating IPs or forwards)"
		cmd.Example = `  qnetctl router detach r1 blue`
	}
	return cmd
}

// routeCmd: "ROUTER CIDR via IP" (delete: "via IP" optional).
func (c *cli) routeCmd(add bool) *cobra.Command {
	verb := map[bool]string{true: "add", false: "delete"}[add]
	cmd := &cobra.Command{
		Use:     "add ROUTER CIDR via IP",
		Short:   "Add a static route",
		Example: `  qnetctl router route add r1 192.168.10.0/24 via 10.0.1.254`,
		Args: func(cmd *cobra.Command, a []string) error {
			if (len(a) == 4 && a[2] == "via") || (len(a) == 2 && !add) {
				return nil
			}
			return usageErr("router route " + verb + ": ROUTER CIDR via IP required (e.g. router route " + verb + " r1 192.168.10.0/24 via 10.0.1.254)")
		},
		RunE: func(_ *cobra.Command, a []string) error {
			req := &api.RouterRoute{Router: a[0], Prefix: a[1]}
			if len(a) == 4 {
				req.Nexthop = a[3]
			}
			if add {
				return rpc(c, (*rpcclient.Client).AddRoute, req, c.routerReply("route added"))
			}
			return rpc(c, (*rpcclient.Client).DeleteRoute, req, c.routerReply("route deleted"))
		},
	}
	if !add {
		cmd.Use, cmd.Aliases, cmd.Short = "delete ROUTER CIDR [via IP]", []string{"rm"}, "Delete a static route"
		cmd.Example = `  qnetctl router route delete r1 192.168.10.0/24`
	}
	return cmd
}

func (c *cli) routerSetGatewayCmd() *cobra.Command {
	req := &api.RouterGateway{}
	cmd := &cobra.Command{
		Use:   "set-gateway ROUTER EXTERNAL-NETWORK",
		Short: "Give a router its gateway on an external network (default routes, SNAT)",
		Long: `Give a router its gateway port on an external network: default routes via the
external network's gateway, and SNAT of the attached networks' IPv4 (IPv6 is
routed). The gateway is scheduled on the chassis that map the physnet; one is
active at a time.`,
		Example: `  qnetctl router set-gateway r1 ext
  qnetctl router set-gateway r1 ext --address 192.0.2.5 --no-snat`,
		Args: exactly("ROUTER EXTERNAL-NETWORK"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Router, req.Network = a[0], a[1]
			return rpc(c, (*rpcclient.Client).SetRouterGateway, req, c.routerReply(fmt.Sprintf("router %s has its gateway on %s", a[0], a[1])))
		},
	}
	cmd.Flags().StringVar(&req.Address, "address", "", "the router's IPv4 address on the external network (default: the next free of its range)")
	cmd.Flags().StringVar(&req.Address6, "address6", "", "its IPv6 address (default: the next free, when the network has IPv6)")
	cmd.Flags().BoolVar(&req.NoSnat, "no-snat", false, "no SNAT: the attached networks' addresses leave as they are")
	return cmd
}

func (c *cli) routerListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List routers",
		Example: `  qnetctl router list
  qnetctl router list -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListRouters(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.Routers)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tNETWORKS\tGATEWAY\tADDRESSES\tACTIVE CHASSIS")
				for _, r := range l.Routers {
					gw, addrs, active := "-", "-", "-"
					if g := r.Gateway; g != nil {
						gw, addrs, active = g.Network, strings.Join(g.Addresses, ","), dash(g.ActiveChassis)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(strings.Join(r.Networks, ",")), gw, addrs, active)
				}
				return w.Flush()
			})
		},
	}
}

func (c *cli) printRouter(r *api.Router) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", r.Name)
	fmt.Fprintf(w, "networks:\t%s\n", dash(strings.Join(r.Networks, ", ")))
	fmt.Fprintf(w, "routes:\t%s\n", dash(strings.Join(r.Routes, ", ")))
	if g := r.Gateway; g != nil {
		snat := "SNAT of the attached networks' IPv4"
		if !g.Snat {
			snat = "no SNAT"
		}
		fmt.Fprintf(w, "gateway:\ton %s, %s (%s)\n", g.Network, strings.Join(g.Addresses, ", "), snat)
		var cs []string
		for _, ch := range g.Chassis {
			cs = append(cs, fmt.Sprintf("%s (%d)", ch.Name, ch.Priority))
		}
		fmt.Fprintf(w, "gateway chassis:\t%s\n", dash(strings.Join(cs, ", ")))
		fmt.Fprintf(w, "active chassis:\t%s\n", dash(g.ActiveChassis))
	} else {
		fmt.Fprintf(w, "gateway:\t-\n")
	}
	fmt.Fprintf(w, "logical router:\tqn-lr-%s (%s)\n", r.Name, r.Uuid)
	return w.Flush()
}
