package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) networkCmd() *cobra.Command {
	g := c.groupCmd("network", "Networks: create, list, show, set, delete",
		c.networkCreateCmd(), c.networkListCmd(), c.networkShowCmd(), c.networkSetCmd(), c.networkDeleteCmd())
	g.Example = `  qnetctl network create blue --subnet4 10.0.1.0/24
  qnetctl network list
  qnetctl network show blue -o json
  qnetctl network delete blue`
	return g
}

// dhcpListFlags registers the repeatable DHCP/DNS list flags.
func dhcpListFlags(fs *pflag.FlagSet, dns, ntp, routes, upstream *[]string) {
	fs.StringArrayVar(dns, "dns-server", nil, "DNS server DHCP and CNI hand out (repeatable; default: the network's resolver)")
	fs.StringArrayVar(ntp, "ntp-server", nil, "NTP server (IPv4, repeatable)")
	fs.StringArrayVar(routes, "route", nil, "DHCP classless static route CIDR=GATEWAY (repeatable)")
	fs.StringArrayVar(upstream, "dns-upstream", nil, "upstream DNS server IP[:PORT] of the resolver (repeatable; default: the daemon's)")
}

func (c *cli) networkCreateCmd() *cobra.Command {
	n := &api.Network{}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a network (a tenant network, or with --external a provider network)",
		Long: `Create a network: a logical switch with DHCP, DNS and IPAM for its subnets.

With --external it is an external (provider) network instead: a localnet port
on --physnet (the chassis map it in ovn-bridge-mappings), no DHCP, DNS or
router of its own; --gateway4 is the physical router, --fip-range where
floating IPs and router gateways come from.`,
		Example: `  qnetctl network create blue --subnet4 10.0.1.0/24 --dns-domain blue.internal
  qnetctl network create green --subnet4 10.0.2.0/24 --subnet6 fd00:2::/64 --exclude 10.0.2.100-10.0.2.150
  qnetctl network create ext --external --physnet physnet1 --vlan 100 \
      --subnet4 192.0.2.0/24 --gateway4 192.0.2.1 --fip-range 192.0.2.50-192.0.2.99`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			n.Name = a[0]
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				got, err := cl.CreateNetwork(ctx, n)
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(got)
				}
				fmt.Fprintf(c.out, "network %s created\n", got.Name)
				return c.printNetwork(got)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&n.Subnet4, "subnet4", "", "IPv4 subnet CIDR")
	fs.StringVar(&n.Gateway4, "gateway4", "", "IPv4 gateway (default: first address)")
	fs.StringVar(&n.Subnet6, "subnet6", "", "IPv6 subnet CIDR")
	fs.StringVar(&n.Gateway6, "gateway6", "", "IPv6 gateway (default: first address)")
	fs.Uint32Var(&n.Mtu, "mtu", 0, "MTU (default 1400)")
	fs.StringVar(&n.DnsDomain, "dns-domain", "", "DNS domain")
	fs.StringVar(&n.Range4, "range4", "", "IPv4 allocation range FIRST-LAST")
	fs.StringVar(&n.Range6, "range6", "", "IPv6 allocation range FIRST-LAST")
	fs.StringArrayVar(&n.Exclude, "exclude", nil, "excluded range FIRST-LAST or address (repeatable)")
	fs.Uint32Var(&n.LeaseTime, "lease-time", 0, "DHCP lease time in seconds (default 3600)")
	dhcpListFlags(fs, &n.DnsServers, &n.NtpServers, &n.Routes, &n.DnsUpstream)
	fs.BoolVar(&n.External, "external", false, "an external (provider) network: a localnet port on --physnet, no services")
	fs.StringVar(&n.Physnet, "physnet", "", "external: the physical network the chassis map (ovn-bridge-mappings)")
	fs.Uint32Var(&n.Vlan, "vlan", 0, "external: VLAN tag (default untagged)")
	fs.StringVar(&n.FipRange, "fip-range", "", "external: FIRST-LAST, where floating IPs and router gateways come from")
	return cmd
}

func (c *cli) printNetwork(n *api.Network) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", n.Name)
	if n.Subnet4 != "" {
		fmt.Fprintf(w, "subnet4:\t%s (gateway %s)\n", n.Subnet4, n.Gateway4)
	}
	if n.Subnet6 != "" {
		fmt.Fprintf(w, "subnet6:\t%s (gateway %s)\n", n.Subnet6, n.Gateway6)
	}
	if n.Range4 != "" {
		fmt.Fprintf(w, "range4:\t%s\n", n.Range4)
	}
	if n.Range6 != "" {
		fmt.Fprintf(w, "range6:\t%s\n", n.Range6)
	}
	if len(n.Exclude) > 0 {
		fmt.Fprintf(w, "excluded:\t%s\n", strings.Join(n.Exclude, ", "))
	}
	fmt.Fprintf(w, "mtu:\t%d\n", n.Mtu)
	if n.DnsDomain != "" {
		fmt.Fprintf(w, "dns domain:\t%s\n", n.DnsDomain)
	}
	if n.External {
		vlan := "untagged"
		if n.Vlan != 0 {
			vlan = fmt.Sprintf("vlan %d", n.Vlan)
		}
		fmt.Fprintf(w, "external:\tphysnet %s, %s (no DHCP, DNS or router of its own)\n", n.Physnet, vlan)
	} else {
		printDHCP(w, n)
	}
	if n.Router != "" {
		fmt.Fprintf(w, "router:\t%s\n", n.Router)
	}
	fmt.Fprintf(w, "ports:\t%d\n", n.Ports)
	fmt.Fprintf(w, "switch:\tqn-%s (%s)\n", n.Name, n.Uuid)
	return w.Flush()
}

func printDHCP(w io.Writer, n *api.Network) {
	fmt.Fprintf(w, "dhcp lease:\t%d s\n", n.LeaseTime)
	if len(n.Resolvers) > 0 {
		fmt.Fprintf(w, "resolver:\t%s\n", strings.Join(n.Resolvers, ", "))
	}
	for _, l := range []struct {
		label string
		v     []string
	}{{"dns servers", n.DnsServers}, {"ntp servers", n.NtpServers}, {"routes", n.Routes}, {"dns upstream", n.DnsUpstream}} {
		if len(l.v) > 0 {
			fmt.Fprintf(w, "%s:\t%s\n", l.label, strings.Join(l.v, ", "))
		}
	}
}

func (c *cli) networkListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List networks",
		Example: `  qnetctl network list
  qnetctl network list -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListNetworks(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.Networks)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tSUBNET4\tSUBNET6\tMTU\tPORTS\tROUTER")
				for _, n := range l.Networks {
					router := dash(n.Router)
					if n.External {
						router = "(external: " + n.Physnet + ")"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", n.Name, dash(n.Subnet4), dash(n.Subnet6), n.Mtu, n.Ports, router)
				}
				return w.Flush()
			})
		},
	}
}

func (c *cli) networkShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a network: subnets, DHCP and DNS settings, router, ports",
		Example: `  qnetctl network show blue
  qnetctl network show blue -o yaml`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				n, err := cl.GetNetwork(ctx, &api.NetworkRef{Name: a[0]})
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(n)
				}
				return c.printNetwork(n)
			})
		},
	}
}

func (c *cli) networkDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a network (refused while it has ports)",
		Example: `  qnetctl network delete blue`,
		Args:    exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				if _, err := cl.DeleteNetwork(ctx, &api.NetworkRef{Name: a[0]}); err != nil {
					return err
				}
				fmt.Fprintf(c.out, "network %s deleted\n", a[0])
				return nil
			})
		},
	}
}

func (c *cli) networkSetCmd() *cobra.Command {
	var mtu, lease uint32
	var domain string
	var dns, ntp, routes, upstream []string
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change a network's MTU, DHCP and DNS settings",
		Long: `Change a network's MTU, DHCP and DNS settings. Only the flags given change;
a list flag replaces the whole list ("none" clears it). DHCP clients see the
change at their next renewal.`,
		Example: `  qnetctl network set blue --lease-time 600 --dns-server 10.0.1.53 --dns-server 10.0.1.54
  qnetctl network set blue --route 192.168.0.0/16=10.0.1.254
  qnetctl network set blue --ntp-server none`,
		Args: exactly("NAME"),
	}
	fs := cmd.Flags()
	fs.Uint32Var(&mtu, "mtu", 0, "MTU")
	fs.Uint32Var(&lease, "lease-time", 0, "DHCP lease time in seconds")
	fs.StringVar(&domain, "dns-domain", "", "DNS domain")
	dhcpListFlags(fs, &dns, &ntp, &routes, &upstream)
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if !anyChanged(cmd) {
			return usageErr("network set: nothing to change (see 'qnetctl network set --help')")
		}
		u := &api.NetworkUpdate{Name: a[0]}
		given := cmd.Flags().Changed
		if given("mtu") {
			u.Mtu = &mtu
		}
		if given("lease-time") {
			u.LeaseTime = &lease
		}
		if given("dns-domain") {
			u.DnsDomain = &domain
		}
		list := func(flagName string, v []string) *api.StringList {
			if !given(flagName) {
				return nil
			}
			if len(v) == 1 && v[0] == "none" {
				v = nil
			}
			return &api.StringList{Values: v}
		}
		u.DnsServers, u.NtpServers, u.Routes, u.DnsUpstream = list("dns-server", dns), list("ntp-server", ntp), list("route", routes), list("dns-upstream", upstream)
		return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
			got, err := cl.UpdateNetwork(ctx, u)
			if err != nil {
				return err
			}
			if c.structured() {
				return c.print(got)
			}
			fmt.Fprintf(c.out, "network %s updated (DHCP clients see it at their next renewal)\n", got.Name)
			return c.printNetwork(got)
		})
	}
	return cmd
}

// anyChanged reports whether one of cmd's own flags was given.
func anyChanged(cmd *cobra.Command) bool {
	changed := false
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) { changed = changed || f.Changed })
	return changed
}
