package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) portCmd() *cobra.Command {
	g := c.groupCmd("port", "Logical ports: list, show, watch, DNS name, security groups",
		c.portListCmd(), c.portShowCmd(), c.portWatchCmd(), c.portSetDNSNameCmd(), c.portSetGroupsCmd())
	g.Example = `  qnetctl port list --network blue
  qnetctl port show vm1-nic0
  qnetctl port watch`
	return g
}

func (c *cli) portListCmd() *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List logical ports: addresses, chassis, binding, owner",
		Example: `  qnetctl port list
  qnetctl port list --network blue -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListPorts(ctx, &api.PortFilter{Network: network})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.Ports)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NETWORK\tPORT\tKIND\tMAC\tADDRESSES\tCHASSIS\tBOUND\tUP\tCONTAINER/IFNAME")
				for _, p := range l.Ports {
					owner := "-"
					if p.ContainerId != "" {
						owner = shortID(p.ContainerId) + "/" + p.Ifname
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\t%s\n", p.Network, p.Name, p.Kind, p.Mac,
						strings.Join(p.Addresses, ","), dash(p.Chassis), dash(p.BoundChassis), p.Up, owner)
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "only ports of this network")
	return cmd
}

func (c *cli) portShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show PORT",
		Short: "Show one port: addresses, chassis, binding, security groups, migration",
		Example: `  qnetctl port show qn-c-0123456789abcdef01234567
  qnetctl port show vm1-nic0 -o json`,
		Args: exactly("PORT"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListPorts(ctx, &api.PortFilter{})
				if err != nil {
					return err
				}
				for _, p := range l.Ports {
					if p.Name == a[0] {
						return c.printPort(p)
					}
				}
				return fmt.Errorf("port %q: not found", a[0])
			})
		},
	}
}

func (c *cli) printPort(p *api.Port) error {
	if c.structured() {
		return c.print(p)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "port:\t%s\n", p.Name)
	fmt.Fprintf(w, "network:\t%s\n", p.Network)
	fmt.Fprintf(w, "kind:\t%s\n", p.Kind)
	if p.Vm != "" {
		fmt.Fprintf(w, "vm:\t%s\n", p.Vm)
	}
	if p.ContainerId != "" {
		fmt.Fprintf(w, "container:\t%s/%s (host %s)\n", p.ContainerId, p.Ifname, p.HostIfname)
	}
	fmt.Fprintf(w, "mac:\t%s\n", p.Mac)
	fmt.Fprintf(w, "addresses:\t%s\n", strings.Join(p.Addresses, ", "))
	fmt.Fprintf(w, "requested chassis:\t%s\n", dash(p.Chassis))
	fmt.Fprintf(w, "bound to:\t%s (up: %v)\n", dash(p.BoundChassis), p.Up)
	fmt.Fprintf(w, "security groups:\t%s\n", dash(strings.Join(p.SecurityGroups, ", ")))
	fmt.Fprintf(w, "dns name:\t%s\n", dash(p.DnsName))
	if len(p.FloatingIps) > 0 {
		fmt.Fprintf(w, "floating ips:\t%s\n", strings.Join(p.FloatingIps, ", "))
	}
	if p.Migration != "" {
		fmt.Fprintf(w, "migration:\t%s\n", p.Migration)
		fmt.Fprintf(w, "activation:\t%s\n", dash(p.Activation))
	}
	return w.Flush()
}

func (c *cli) portSetDNSNameCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-dns-name PORT NAME",
		Short: `Name a port in its network's DNS domain (NAME "" removes the name)`,
		Example: `  qnetctl port set-dns-name vm1-nic0 db1     # db1.<network domain>
  qnetctl port set-dns-name vm1-nic0 ""`,
		Args: exactly("PORT NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				p, err := cl.SetPortDNSName(ctx, &api.PortDNSName{Port: a[0], Name: a[1]})
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(p)
				}
				if p.DnsName == "" {
					fmt.Fprintf(c.out, "port %s has no DNS name\n", p.Name)
					return nil
				}
				fmt.Fprintf(c.out, "port %s is %s.<network domain>\n", p.Name, p.DnsName)
				return nil
			})
		},
	}
}

func (c *cli) portSetGroupsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-security-groups PORT [GROUP...]",
		Short: "Change a live port's security groups (none: the network's default, allow all)",
		Example: `  qnetctl port set-security-groups vm1-nic0 web ssh
  qnetctl port set-security-groups vm1-nic0 web,ssh
  qnetctl port set-security-groups vm1-nic0          # no groups`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usageErr("port set-security-groups: PORT is required (see 'qnetctl port set-security-groups --help')")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, a []string) error {
			var groups []string
			for _, arg := range a[1:] {
				for _, g := range strings.Split(arg, ",") {
					if g = strings.TrimSpace(g); g != "" {
						groups = append(groups, g)
					}
				}
			}
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				p, err := cl.SetPortSecurityGroups(ctx, &api.PortSecurityGroups{Port: a[0], SecurityGroups: groups})
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(p)
				}
				if len(p.SecurityGroups) == 0 {
					fmt.Fprintf(c.out, "port %s: no security groups (the network's default: allow all)\n", p.Name)
					return nil
				}
				fmt.Fprintf(c.out, "port %s: security groups %s\n", p.Name, strings.Join(p.SecurityGroups, ", "))
				return nil
			})
		},
	}
}

func (c *cli) portWatchCmd() *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Stream port events: a snapshot, then created, updated, deleted as they happen",
		Long: `Stream the ports: first a snapshot of every port, then one event per change
(created, deleted, bound chassis, up/down, migration, addresses, security
groups, floating IPs) until interrupted. When the daemon goes away, the watch
says so on stderr, reconnects by itself and starts again with a fresh
snapshot, so that nothing is silently lost.

-o table prints one line per event, -o json one JSON object per line,
-o yaml one document per event (--- separated).`,
		Example: `  qnetctl port watch
  qnetctl port watch --network blue -o json | jq .port.up`,
		Args: none,
		RunE: func(*cobra.Command, []string) error { return c.watch([]string{"port"}, network) },
	}
	cmd.Flags().StringVar(&network, "network", "", "only ports of this network")
	return cmd
}

// eventKinds are the kinds of objects the daemon streams (daemon/events;
// TestEventKinds holds the two together).
var eventKinds = []string{"port", "network", "router", "floating_ip", "load_balancer"}

func (c *cli) eventsCmd() *cobra.Command {
	var network string
	var kinds []string
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream events of ports, networks, routers, floating IPs and load balancers",
		Long: `Stream events of every kind of object (or of the --kind given): a snapshot,
then one event per change, until interrupted; like 'port watch', it
reconnects by itself with a fresh snapshot when the daemon goes away.
Kinds: port, network, router, floating_ip, load_balancer.`,
		Example: `  qnetctl events
  qnetctl events --kind router --kind floating_ip -o json
  qnetctl events --network blue`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, k := range kinds {
				if !slices.Contains(eventKinds, k) {
					return usageErr(fmt.Sprintf("%s: --kind %q is not one of %s", cmd.CommandPath(), k, strings.Join(eventKinds, ", ")))
				}
			}
			return none(cmd, args)
		},
		RunE: func(*cobra.Command, []string) error { return c.watch(kinds, network) },
	}
	cmd.Flags().StringArrayVar(&kinds, "kind", nil, "only events of this kind (repeatable): port, network, router, floating_ip, load_balancer")
	cmd.Flags().StringVar(&network, "network", "", "only objects of this network")
	return cmd
}

// watch streams events until SIGINT or SIGTERM (watchRun, which dials
// again itself when the daemon goes away).
func (c *cli) watch(kinds []string, network string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dial := func(ctx context.Context) (api.QuantumNetClient, func(), error) {
		cl, err := rpcclient.Dial(ctx, c.socket, "qnetctl")
		if err != nil {
			return nil, nil, err
		}
		return cl.QuantumNetClient, cl.Close, nil
	}
	err := watchRun(ctx, dial, kinds, network, c.output, c.out, c.errOut)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}
