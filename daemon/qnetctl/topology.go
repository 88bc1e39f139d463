package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/topology"
)

// topologyRun prints the tree external networks -> routers -> networks ->
// ports (qnetctl topology [--network N]); json and yaml print the same
// tree as nested objects with snake_case names.
func topologyRun(ctx context.Context, c api.QuantumNetClient, network, format string, out io.Writer) error {
	var in topology.Input
	nets, err := c.ListNetworks(ctx, &api.Empty{})
	if err != nil {
		return err
	}
	in.Networks = nets.Networks
	if network != "" && !hasNetwork(nets.Networks, network) {
		return fmt.Errorf("network %q not found", network)
	}
	routers, err := c.ListRouters(ctx, &api.Empty{})
	if err != nil {
		return err
	}
	in.Routers = routers.Routers
	fips, err := c.ListFloatingIPs(ctx, &api.Empty{})
	if err != nil {
		return err
	}
	in.FloatingIPs = fips.FloatingIps
	ports, err := c.ListPorts(ctx, &api.PortFilter{})
	if err != nil {
		return err
	}
	in.Ports = ports.Ports
	// Load balancers are optional in a daemon (nil manager: unavailable).
	if lbs, err := c.ListLoadBalancers(ctx, &api.Empty{}); err == nil {
		in.LoadBalancers = lbs.LoadBalancers
	}
	tree := topology.Build(in, network)
	switch format {
	case "", "table":
		return topology.WriteTable(out, tree)
	case "json", "yaml":
		b, err := json.Marshal(tree)
		if err != nil {
			return err
		}
		return printJSON(out, format, b)
	}
	return fmt.Errorf("-o: %q is not table, json or yaml", format)
}

func hasNetwork(nets []*api.Network, name string) bool {
	for _, n := range nets {
		if n.Name == name {
			return true
		}
	}
	return false
}
