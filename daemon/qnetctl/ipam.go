package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) ipamCmd() *cobra.Command {
	g := c.groupCmd("ipam", "Addresses of a network: usage, reservations, static bindings",
		c.ipamShowCmd(), c.ipamReserveCmd(), c.ipamReleaseCmd())
	g.Example = `  qnetctl ipam show blue
  qnetctl ipam reserve blue --owner printer
  qnetctl ipam release blue 10.0.1.77`
	return g
}

func (c *cli) ipamShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NETWORK",
		Short: "Show a network's address usage: used, free, reserved per subnet; reservations",
		Example: `  qnetctl ipam show blue
  qnetctl ipam show blue -o json`,
		Args: exactly("NETWORK"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				u, err := cl.IPAMShow(ctx, &api.NetworkRef{Name: a[0]})
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(u)
				}
				return c.printUsage(u)
			})
		},
	}
}

func (c *cli) printUsage(u *api.IPAMUsage) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SUBNET\tRANGE\tSIZE\tUSED\tFREE\tRESERVED")
	for _, s := range u.Subnets {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\n", s.Subnet, s.Range, s.Size, s.Used, s.Free, s.Reserved)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var res []*api.IPAMReservation
	for _, s := range u.Subnets {
		res = append(res, s.Reservations...)
	}
	if len(res) == 0 {
		return nil
	}
	fmt.Fprintln(c.out, "\nreservations:")
	w = tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ADDRESS\tOWNER\tMAC\tIN USE BY")
	for _, r := range res {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Address, r.Owner, dash(r.Mac), dash(r.Port))
	}
	return w.Flush()
}

func (c *cli) ipamReserveCmd() *cobra.Command {
	req := &api.IPAMReserveRequest{}
	cmd := &cobra.Command{
		Use:   "reserve NETWORK --owner WHO",
		Short: "Reserve an address (with --mac: a static binding)",
		Long: `Reserve an address of a network for --owner: the one given, else the next
free IPv4 (--ipv6: IPv6) address. With --mac it is a static binding: a port
with this MAC gets the address.`,
		Example: `  qnetctl ipam reserve blue --owner printer
  qnetctl ipam reserve blue --owner vm1-static --address 10.0.1.77 --mac 52:54:00:21:00:01
  qnetctl ipam reserve blue --owner lb --ipv6`,
		Args: exactly("NETWORK"),
		RunE: func(_ *cobra.Command, a []string) error {
			if req.Owner == "" {
				return usageErr("ipam reserve: --owner is required")
			}
			req.Network = a[0]
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				r, err := cl.IPAMReserve(ctx, req)
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(r)
				}
				fmt.Fprintf(c.out, "reserved %s on %s for %s\n", r.Address, r.Network, r.Owner)
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&req.Owner, "owner", "", "who holds the address (required)")
	fs.StringVar(&req.Address, "address", "", "the address to reserve (default: the next free one)")
	fs.BoolVar(&req.Ipv6, "ipv6", false, "reserve the next free IPv6 address")
	fs.StringVar(&req.Mac, "mac", "", "static binding: a port with this MAC gets the address")
	return cmd
}

func (c *cli) ipamReleaseCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "release NETWORK ADDRESS",
		Short:   "Release a reserved address",
		Example: `  qnetctl ipam release blue 10.0.1.77`,
		Args:    exactly("NETWORK ADDRESS"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				if _, err := cl.IPAMRelease(ctx, &api.IPAMReleaseRequest{Network: a[0], Address: a[1]}); err != nil {
					return err
				}
				fmt.Fprintf(c.out, "released %s on %s\n", a[1], a[0])
				return nil
			})
		},
	}
}
