package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) fipCmd() *cobra.Command {
	g := c.groupCmd("fip", "Floating IPs: create, associate with a port, port forwards",
		c.fipCreateCmd(), c.fipListCmd(),
		c.fipOneCmd("show", "Show a floating IP: its port, router, mode, forwards", "  qnetctl fip show 192.0.2.50\n  qnetctl fip show 192.0.2.50 -o json",
			func(a string) error {
				return rpc(c, (*rpcclient.Client).GetFloatingIP, &api.FloatingIPRef{Address: a}, c.fipReply(""))
			}),
		c.fipAssociateCmd(),
		c.fipOneCmd("disassociate", "Disassociate a floating IP from its port", "  qnetctl fip disassociate 192.0.2.50",
			func(a string) error {
				return rpc(c, (*rpcclient.Client).DisassociateFloatingIP, &api.FloatingIPRef{Address: a}, c.fipReply(""))
			}),
		c.fipOneCmd("delete", "Delete a floating IP (disassociates it first, deletes its forwards)", "  qnetctl fip delete 192.0.2.50",
			func(a string) error {
				return rpc(c, (*rpcclient.Client).DeleteFloatingIP, &api.FloatingIPRef{Address: a}, said[*api.Empty](c, "floating IP "+a+" deleted"))
			}),
		c.groupCmd("forward", "Port forwards of an unassociated floating IP to ports of logical ports",
			c.forwardAddCmd(), c.forwardDeleteCmd(), c.forwardListCmd()))
	g.Example = `  qnetctl fip create ext
  qnetctl fip associate 192.0.2.51 vm1-nic0
  qnetctl fip forward add 192.0.2.60 tcp 2222 vm1-nic0 22`
	return g
}

// fipOneCmd is a floating IP command taking only the address.
func (c *cli) fipOneCmd(verb, short, example string, run func(addr string) error) *cobra.Command {
	cmd := &cobra.Command{Use: verb + " FIP", Short: short, Example: example, Args: exactly("FIP"),
		RunE: func(_ *cobra.Command, a []string) error { return run(a[0]) }}
	if verb == "delete" {
		cmd.Aliases = []string{"rm"}
	}
	return cmd
}

// fipReply is the reply of a call answering with a floating IP: msg (""
// none) and the floating IP.
func (c *cli) fipReply(msg string) func(*api.FloatingIP, error) error {
	return func(f *api.FloatingIP, err error) error {
		if err != nil {
			return err
		}
		return c.printFIP(f, msg)
	}
}

func (c *cli) printFIP(f *api.FloatingIP, msg string) error {
	if c.structured() {
		return c.print(f)
	}
	if msg != "" {
		fmt.Fprintln(c.out, msg)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "address:\t%s\n", f.Address)
	fmt.Fprintf(w, "network:\t%s\n", f.Network)
	if f.Port == "" {
		fmt.Fprintf(w, "associated:\tno\n")
	} else {
		mode := "centralized (on the gateway chassis)"
		if f.Distributed {
			mode = "distributed (at the port's chassis)"
		}
		fmt.Fprintf(w, "associated:\tport %s, %s, router %s, %s\n", f.Port, f.FixedIp, dash(f.Router), mode)
	}
	if len(f.LoadBalancers) > 0 {
		fmt.Fprintf(w, "load balancers:\t%s\n", strings.Join(f.LoadBalancers, ", "))
	}
	if len(f.Forwards) > 0 {
		fmt.Fprintf(w, "forwards:\t(router %s)\n", dash(f.Router))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(f.Forwards) > 0 {
		return forwardTable(c.out, f.Forwards)
	}
	return nil
}

// forwardTable lists forwards, one a line.
func forwardTable(out io.Writer, fs []*api.FloatingIPForward) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  PROTO\tPORT\tTARGET\tTARGET PORT\tTARGET ADDRESS")
	for _, f := range fs {
		ta := f.TargetAddress
		if ta == "" {
			ta = "- (the target has no such address now)"
		}
		fmt.Fprintf(w, "  %s\t%d\t%s\t%d\t%s\n", f.Protocol, f.Port, f.Target, f.TargetPort, ta)
	}
	return w.Flush()
}

func (c *cli) forwardAddCmd() *cobra.Command {
	req := &api.FloatingIPForward{}
	cmd := &cobra.Command{
		Use:   "add FIP tcp|udp PORT TARGET TARGET-PORT",
		Short: "Forward one port of an unassociated floating IP to a port of a logical port",
		Long: `Forward one port of an unassociated floating IP to one port of a logical port
(TARGET, by name). It follows the target's first IPv4 address unless
--target-address picks one.`,
		Example: `  qnetctl fip forward add 192.0.2.50 tcp 2222 web1-nic0 22
  qnetctl fip forward add 192.0.2.50 udp 53 dns1-nic0 5353 --target-address 10.0.1.10`,
		Args: exactly("FIP PROTOCOL PORT TARGET TARGET-PORT"),
		RunE: func(_ *cobra.Command, a []string) error {
			var err error
			req.Address, req.Protocol, req.Target = a[0], a[1], a[3]
			if req.Port, err = portArg("port", a[2]); err != nil {
				return err
			}
			if req.TargetPort, err = portArg("target port", a[4]); err != nil {
				return err
			}
			return rpc(c, (*rpcclient.Client).AddFloatingIPForward, req, c.fipReply(fmt.Sprintf("forward %s %s:%s added", req.Protocol, req.Address, a[2])))
		},
	}
	cmd.Flags().StringVar(&req.TargetAddress, "target-address", "", "which of the target's IPv4 addresses (default: its first, followed when it changes)")
	return cmd
}

func (c *cli) forwardDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete FIP tcp|udp PORT",
		Aliases: []string{"rm"},
		Short:   "Delete a port forward of a floating IP",
		Example: `  qnetctl fip forward delete 192.0.2.50 tcp 2222`,
		Args:    exactly("FIP PROTOCOL PORT"),
		RunE: func(_ *cobra.Command, a []string) error {
			req := &api.FloatingIPForward{Address: a[0], Protocol: a[1]}
			var err error
			if req.Port, err = portArg("port", a[2]); err != nil {
				return err
			}
			return rpc(c, (*rpcclient.Client).DeleteFloatingIPForward, req,
				c.fipReply(fmt.Sprintf("forward %s %s:%s deleted (if it was there)", req.Protocol, req.Address, a[2])))
		},
	}
}

func (c *cli) forwardListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list FIP",
		Aliases: []string{"ls"},
		Short:   "List the port forwards of a floating IP",
		Example: `  qnetctl fip forward list 192.0.2.50`,
		Args:    exactly("FIP"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				got, err := cl.GetFloatingIP(ctx, &api.FloatingIPRef{Address: a[0]})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, got.Forwards)
				}
				if len(got.Forwards) == 0 {
					fmt.Fprintf(c.out, "floating IP %s has no forwards\n", got.Address)
					return nil
				}
				return forwardTable(c.out, got.Forwards)
			})
		},
	}
}

func (c *cli) fipCreateCmd() *cobra.Command {
	req := &api.FloatingIP{}
	cmd := &cobra.Command{
		Use:   "create EXTERNAL-NETWORK",
		Short: "Create a floating IP on an external network",
		Example: `  qnetctl fip create ext
  qnetctl fip create ext --address 192.0.2.60 -o json`,
		Args: exactly("EXTERNAL-NETWORK"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Network = a[0]
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				got, err := cl.CreateFloatingIP(ctx, req)
				if err == nil && !c.structured() {
					fmt.Fprintf(c.out, "floating IP %s created on %s\n", got.Address, got.Network)
					return nil
				}
				return c.fipReply("")(got, err)
			})
		},
	}
	cmd.Flags().StringVar(&req.Address, "address", "", "the address (default: the next free of the network's floating IP range)")
	return cmd
}

func (c *cli) fipAssociateCmd() *cobra.Command {
	req := &api.FloatingIPAssociation{}
	cmd := &cobra.Command{
		Use:   "associate FIP PORT",
		Short: "Associate a floating IP with a port (its network on a router with a gateway there)",
		Example: `  qnetctl fip associate 192.0.2.50 web1-nic0
  qnetctl fip associate 192.0.2.50 web1-nic0 --fixed-ip 10.0.1.10`,
		Args: exactly("FIP PORT"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Address, req.Port = a[0], a[1]
			return rpc(c, (*rpcclient.Client).AssociateFloatingIP, req, c.fipReply(""))
		},
	}
	cmd.Flags().StringVar(&req.FixedIp, "fixed-ip", "", "which of the port's IPv4 addresses (default: its first)")
	return cmd
}

func (c *cli) fipListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List floating IPs",
		Example: `  qnetctl fip list
  qnetctl fip list -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListFloatingIPs(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.FloatingIps)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ADDRESS\tNETWORK\tPORT\tFIXED IP\tROUTER\tMODE")
				for _, f := range l.FloatingIps {
					mode := "-"
					if f.Port != "" {
						mode = map[bool]string{true: "distributed", false: "centralized"}[f.Distributed]
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Address, f.Network, dash(f.Port), dash(f.FixedIp), dash(f.Router), mode)
				}
				return w.Flush()
			})
		},
	}
}
