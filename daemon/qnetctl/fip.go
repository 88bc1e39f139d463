package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) fipReply(f *api.FloatingIP, err error, msg string) error {
	if err != nil {
		return err
	}
	if c.output == "json" {
		return c.json(f)
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
	return w.Flush()
}

func (c *cli) fipCreate(args []string) error {
	fs := flag.NewFlagSet("fip create", flag.ContinueOnError)
	req := &api.FloatingIP{}
	fs.StringVar(&req.Address, "address", "", "the address (default: the next free of the network's floating IP range)")
	a, err := positionals(fs, args, 1, "fip create", "EXTERNAL-NETWORK is")
	if err != nil {
		return err
	}
	req.Network = a[0]
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.CreateFloatingIP(ctx, req)
		if err == nil && c.output != "json" {
			fmt.Fprintf(c.out, "floating IP %s created on %s\n", got.Address, got.Network)
			return nil
		}
		return c.fipReply(got, err, "")
	})
}

func (c *cli) fipShow(args []string) error {
	a, err := positionals(flag.NewFlagSet("fip show", flag.ContinueOnError), args, 1, "fip show", "FIP is")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.GetFloatingIP(ctx, &api.FloatingIPRef{Address: a[0]})
		return c.fipReply(got, err, "")
	})
}

func (c *cli) fipAssociate(args []string) error {
	fs := flag.NewFlagSet("fip associate", flag.ContinueOnError)
	req := &api.FloatingIPAssociation{}
	fs.StringVar(&req.FixedIp, "fixed-ip", "", "which of the port's IPv4 addresses (default: its first)")
	a, err := positionals(fs, args, 2, "fip associate", "FIP and PORT are")
	if err != nil {
		return err
	}
	req.Address, req.Port = a[0], a[1]
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.AssociateFloatingIP(ctx, req)
		return c.fipReply(got, err, "")
	})
}

func (c *cli) fipDisassociate(args []string) error {
	a, err := positionals(flag.NewFlagSet("fip disassociate", flag.ContinueOnError), args, 1, "fip disassociate", "FIP is")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.DisassociateFloatingIP(ctx, &api.FloatingIPRef{Address: a[0]})
		return c.fipReply(got, err, "")
	})
}

func (c *cli) fipDelete(args []string) error {
	a, err := positionals(flag.NewFlagSet("fip delete", flag.ContinueOnError), args, 1, "fip delete", "FIP is")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		if _, err := cl.DeleteFloatingIP(ctx, &api.FloatingIPRef{Address: a[0]}); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "floating IP %s deleted\n", a[0])
		return nil
	})
}

func (c *cli) fipList([]string) error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListFloatingIPs(ctx, &api.Empty{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(l.FloatingIps)
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
}
