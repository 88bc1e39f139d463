package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

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

// portArg parses a port number argument.
func portArg(field, v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, usageErr(fmt.Sprintf("%s: %q is not a port number", field, v))
	}
	return uint32(n), nil
}

func (c *cli) forwardAdd(args []string) error {
	fs := flag.NewFlagSet("fip forward add", flag.ContinueOnError)
	req := &api.FloatingIPForward{}
	fs.StringVar(&req.TargetAddress, "target-address", "", "which of the target's IPv4 addresses (default: its first, followed when it changes)")
	a, err := positionals(fs, args, 5, "fip forward add", "FIP, PROTOCOL, PORT, TARGET and TARGET-PORT are")
	if err != nil {
		return err
	}
	req.Address, req.Protocol, req.Target = a[0], a[1], a[3]
	if req.Port, err = portArg("port", a[2]); err != nil {
		return err
	}
	if req.TargetPort, err = portArg("target port", a[4]); err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).AddFloatingIPForward, req, c.fipReply(fmt.Sprintf("forward %s %s:%s added", req.Protocol, req.Address, a[2])))
}

func (c *cli) forwardDelete(args []string) error {
	a, err := bare(args, 3, "fip forward delete", "FIP, PROTOCOL and PORT are")
	if err != nil {
		return err
	}
	req := &api.FloatingIPForward{Address: a[0], Protocol: a[1]}
	if req.Port, err = portArg("port", a[2]); err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).DeleteFloatingIPForward, req,
		c.fipReply(fmt.Sprintf("forward %s %s:%s deleted (if it was there)", req.Protocol, req.Address, a[2])))
}

func (c *cli) forwardList(args []string) error {
	a, err := bare(args, 1, "fip forward list", "FIP is")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.GetFloatingIP(ctx, &api.FloatingIPRef{Address: a[0]})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(got.Forwards)
		}
		if len(got.Forwards) == 0 {
			fmt.Fprintf(c.out, "floating IP %s has no forwards\n", got.Address)
			return nil
		}
		return forwardTable(c.out, got.Forwards)
	})
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
		return c.fipReply("")(got, err)
	})
}

func (c *cli) fipShow(args []string) error {
	a, err := bare(args, 1, "fip show", "FIP is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).GetFloatingIP, &api.FloatingIPRef{Address: a[0]}, c.fipReply(""))
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
	return rpc(c, (*rpcclient.Client).AssociateFloatingIP, req, c.fipReply(""))
}

func (c *cli) fipDisassociate(args []string) error {
	a, err := bare(args, 1, "fip disassociate", "FIP is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).DisassociateFloatingIP, &api.FloatingIPRef{Address: a[0]}, c.fipReply(""))
}

func (c *cli) fipDelete(args []string) error {
	a, err := bare(args, 1, "fip delete", "FIP is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).DeleteFloatingIP, &api.FloatingIPRef{Address: a[0]}, said[*api.Empty](c, "floating IP "+a[0]+" deleted"))
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
