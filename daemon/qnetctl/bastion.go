package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) bastionCmd() *cobra.Command {
	g := c.groupCmd("bastion", "WireGuard bastions: an operator's way into granted tenant networks",
		c.bastionCreateCmd(), c.bastionListCmd(),
		c.bastionNameCmd("show", "Show a bastion: endpoint, active chassis, peers with their last handshake",
			"  qnetctl bastion show b1\n  qnetctl bastion show b1 -o json",
			func(n string) error {
				return rpc(c, (*rpcclient.Client).GetBastion, &api.BastionRef{Name: n}, c.bastionReply(""))
			}),
		c.bastionNameCmd("delete", "Delete a bastion and its peers", "  qnetctl bastion delete b1",
			func(n string) error {
				return rpc(c, (*rpcclient.Client).DeleteBastion, &api.BastionRef{Name: n}, said[*api.Empty](c, "bastion "+n+" deleted"))
			}),
		c.groupCmd("peer", "Peers of a bastion: who may connect, to which networks", c.peerAddCmd(), c.peerRemoveCmd()))
	g.Example = `  qnetctl bastion create b1 --router r1
  qnetctl bastion peer add b1 alice --networks blue,red > alice.conf
  qnetctl bastion show b1
  qnetctl bastion peer remove b1 alice`
	return g
}

func (c *cli) bastionNameCmd(verb, short, example string, run func(name string) error) *cobra.Command {
	cmd := &cobra.Command{Use: verb + " NAME", Short: short, Example: example, Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error { return run(a[0]) }}
	if verb == "delete" {
		cmd.Aliases = []string{"rm"}
	}
	return cmd
}

func (c *cli) bastionCreateCmd() *cobra.Command {
	req := &api.Bastion{}
	cmd := &cobra.Command{
		Use:   "create NAME --router ROUTER",
		Short: "Create a bastion on a router's active gateway chassis",
		Long: `Create a WireGuard bastion: its endpoint is the router's external address and
the listen port (UDP), served from the router's active gateway chassis; peers
get tunnel addresses from the bastion's range, which security group rules
name as sg:bastion-NAME (Address_Set $qn_bastion_NAME), e.g.
"ingress tcp 22 from sg:bastion-b1".`,
		Example: `  qnetctl bastion create b1 --router r1
  qnetctl bastion create b2 --router r1 --listen-port 51821`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Name = a[0]
			if req.Router == "" {
				return usageErr("bastion create: --router is required")
			}
			return rpc(c, (*rpcclient.Client).CreateBastion, req, c.bastionReply("bastion "+a[0]+" created"))
		},
	}
	cmd.Flags().StringVar(&req.Router, "router", "", "the router whose networks peers may be granted (it needs a gateway)")
	cmd.Flags().Uint32Var(&req.ListenPort, "listen-port", 0, "UDP port (default 51820)")
	return cmd
}

func (c *cli) bastionListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List bastions", Example: "  qnetctl bastion list", Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListBastions(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.Bastions)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tROUTER\tENDPOINT\tACTIVE CHASSIS\tRANGE\tPEERS")
				for _, b := range l.Bastions {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", b.Name, b.Router, dash(b.Endpoint), dash(b.ActiveChassis), b.TunnelRange, len(b.Peers))
				}
				return w.Flush()
			})
		},
	}
}

func (c *cli) peerAddCmd() *cobra.Command {
	req := &api.BastionPeer{}
	var nets string
	cmd := &cobra.Command{
		Use:   "add BASTION NAME --networks a,b [--pubkey KEY]",
		Short: "Grant a peer networks; without --pubkey print its wg-quick config (once)",
		Long: `Add a peer that may reach the granted networks. Without --pubkey a key pair is
generated and the peer's wg-quick config is printed on stdout once: its private
key is stored nowhere else.`,
		Example: `  qnetctl bastion peer add b1 alice --networks blue,red > alice.conf
  qnetctl bastion peer add b1 bob --networks blue --pubkey "$(wg pubkey < bob.key)"`,
		Args: exactly("BASTION NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			req.Bastion, req.Name, req.Networks = a[0], a[1], strings.Split(nets, ",")
			return rpc(c, (*rpcclient.Client).AddBastionPeer, req, func(p *api.BastionPeer, err error) error {
				switch {
				case err != nil:
					return err
				case c.structured():
					return c.print(p)
				case p.Config != "":
					fmt.Fprint(c.out, p.Config)
				default:
					fmt.Fprintf(c.out, "peer %s added to bastion %s: address %s, networks %s\n", p.Name, p.Bastion, p.Address, strings.Join(p.Networks, ","))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&nets, "networks", "", "granted networks, comma-separated (attached to the bastion's router)")
	cmd.Flags().StringVar(&req.PublicKey, "pubkey", "", "the peer's WireGuard public key (default: generate a key pair)")
	return cmd
}

func (c *cli) peerRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use: "remove BASTION NAME", Aliases: []string{"rm"}, Short: "Remove a peer: its tunnel is cut at once",
		Example: "  qnetctl bastion peer remove b1 alice", Args: exactly("BASTION NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return rpc(c, (*rpcclient.Client).RemoveBastionPeer, &api.BastionPeerRef{Bastion: a[0], Name: a[1]},
				c.bastionReply("peer "+a[1]+" removed from bastion "+a[0]))
		},
	}
}

func (c *cli) bastionReply(msg string) func(*api.Bastion, error) error {
	return func(b *api.Bastion, err error) error {
		if err != nil {
			return err
		}
		if c.structured() {
			return c.print(b)
		}
		if msg != "" {
			fmt.Fprintln(c.out, msg)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "name:\t%s\nrouter:\t%s\nendpoint:\t%s\nactive chassis:\t%s\n", b.Name, b.Router, dash(b.Endpoint), dash(b.ActiveChassis))
		fmt.Fprintf(w, "public key:\t%s\ntunnel range:\t%s\nsecurity group:\t%s\n", b.PublicKey, b.TunnelRange, b.SecurityGroup)
		fmt.Fprintln(w, "peers:")
		fmt.Fprintln(w, "  NAME\tADDRESS\tNETWORKS\tLAST HANDSHAKE\tRX\tTX")
		for _, p := range b.Peers {
			hs := "never"
			if p.LastHandshakeUnix != 0 {
				hs = time.Unix(p.LastHandshakeUnix, 0).UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%d\t%d\n", p.Name, p.Address, strings.Join(p.Networks, ","), hs, p.RxBytes, p.TxBytes)
		}
		return w.Flush()
	}
}
