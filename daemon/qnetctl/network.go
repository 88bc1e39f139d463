package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// dhcpListFlags registers the repeatable DHCP/DNS list flags.
func dhcpListFlags(fs *flag.FlagSet, dns, ntp, routes, upstream *[]string) {
	for _, f := range []struct {
		name, usage string
		to          *[]string
	}{
		{"dns-server", "DNS server DHCP and CNI hand out (repeatable; default: the network's resolver)", dns},
		{"ntp-server", "NTP server (IPv4, repeatable)", ntp},
		{"route", "DHCP classless static route CIDR=GATEWAY (repeatable)", routes},
		{"dns-upstream", "upstream DNS server IP[:PORT] of the resolver (repeatable; default: the daemon's)", upstream},
	} {
		fs.Func(f.name, f.usage, func(v string) error {
			*f.to = append(*f.to, v)
			return nil
		})
	}
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

func (c *cli) networkSet(args []string) error {
	fs := flag.NewFlagSet("network set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var mtu, lease uint
	var domain string
	fs.UintVar(&mtu, "mtu", 0, "MTU")
	fs.UintVar(&lease, "lease-time", 0, "DHCP lease time in seconds")
	fs.StringVar(&domain, "dns-domain", "", "DNS domain")
	var dns, ntp, routes, upstream []string
	dhcpListFlags(fs, &dns, &ntp, &routes, &upstream)
	name, err := positional(fs, args, "network set")
	if err != nil {
		return err
	}
	u := &api.NetworkUpdate{Name: name}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if len(given) == 0 {
		return usageErr("network set: nothing to change (see qnetctl help)")
	}
	if given["mtu"] {
		v := uint32(mtu)
		u.Mtu = &v
	}
	if given["lease-time"] {
		v := uint32(lease)
		u.LeaseTime = &v
	}
	if given["dns-domain"] {
		u.DnsDomain = &domain
	}
	list := func(flagName string, v []string) *api.StringList {
		if !given[flagName] {
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
		if c.output == "json" {
			return c.json(got)
		}
		fmt.Fprintf(c.out, "network %s updated (DHCP clients see it at their next renewal)\n", got.Name)
		return c.printNetwork(got)
	})
}

func (c *cli) portSetDNSName(args []string) error {
	if len(args) != 2 {
		return usageErr("port set-dns-name: PORT and NAME are required (NAME \"\" removes the name)")
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		p, err := cl.SetPortDNSName(ctx, &api.PortDNSName{Port: args[0], Name: args[1]})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(p)
		}
		if p.DnsName == "" {
			fmt.Fprintf(c.out, "port %s has no DNS name\n", p.Name)
			return nil
		}
		fmt.Fprintf(c.out, "port %s is %s.<network domain>\n", p.Name, p.DnsName)
		return nil
	})
}
