package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) topologyCmd() *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Show the tree external networks -> routers -> networks -> ports",
		Long: `Show the topology as a tree: external networks, the routers with their
gateway there, the networks attached to each router (and those on no router),
and each network's ports with their kind, chassis, up, addresses and floating
IPs. -o json / -o yaml print the same tree as nested objects.`,
		Example: `  qnetctl topology
  qnetctl topology --network blue
  qnetctl topology -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				return topologyRun(ctx, cl.QuantumNetClient, network, c.output, c.out)
			})
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "only this network (and the routers and external networks above it)")
	return cmd
}

func (c *cli) traceCmd() *cobra.Command {
	req := &api.TraceRequest{}
	cmd := &cobra.Command{
		Use:   "trace PORT DST [tcp|udp|icmp] [DPORT]",
		Short: "Trace a packet from a port with ovn-trace and say where it goes and which rule decides",
		Long: `Trace a packet from logical port PORT to address DST (icmp unless a protocol
is given; tcp and udp take a destination port) through OVN's logical
pipeline with ovn-trace, and say in plain words where it goes: delivered to
which port, routed, NATed, or dropped, and which security-group rule (group
and rule id) allows or drops it.`,
		Example: `  qnetctl trace web1-nic0 10.0.2.20
  qnetctl trace web1-nic0 10.0.2.20 tcp 443
  qnetctl trace web1-nic0 fd00:2::20 udp 53 --source fd00:1::10`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) < 2 || len(a) > 4 {
				return usageErr("trace: PORT and DST are required, then optionally a protocol (tcp, udp, icmp) and a port (see 'qnetctl trace --help')")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, a []string) error {
			req.Port, req.Destination = a[0], a[1]
			if len(a) > 2 {
				req.Protocol = a[2]
			}
			if len(a) > 3 {
				p, err := strconv.ParseUint(a[3], 10, 16)
				if err != nil || p == 0 {
					return usageErr("trace: DPORT " + strconv.Quote(a[3]) + " is not a port number (1-65535)")
				}
				req.Dport = uint32(p)
			}
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				return traceRun(ctx, cl.QuantumNetClient, req, c.output, c.out)
			})
		},
	}
	cmd.Flags().StringVar(&req.Source, "source", "", "which of the port's addresses the packet comes from (default: its first of DST's family)")
	return cmd
}
