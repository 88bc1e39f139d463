package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// argKinds says, for shell completion, what each positional of a command
// names (by the command's path below qnetctl): an object kind the daemon
// lists, a fixed vocabulary, or "" (nothing to offer). A kind ending in
// "..." repeats for every further argument.
var argKinds = map[string][]string{
	"network show": {"network"}, "network delete": {"network"}, "network set": {"network"},
	"port show": {"port"}, "port set-dns-name": {"port"}, "port set-security-groups": {"port", "sg..."},
	"ipam show": {"network"}, "ipam reserve": {"network"}, "ipam release": {"network"},
	"sg show": {"sg"}, "sg delete": {"sg"}, "sg set": {"sg"}, "sg rule add": {"sg"}, "sg rule delete": {"sg"},
	"sg preset add": {"sg", "preset"},
	"router show":   {"router"}, "router delete": {"router"}, "router clear-gateway": {"router"},
	"router attach": {"router", "network"}, "router detach": {"router", "network"}, "router set-gateway": {"router", "network"},
	"router route add": {"router"}, "router route delete": {"router"},
	"fip create": {"network"}, "fip show": {"fip"}, "fip disassociate": {"fip"}, "fip delete": {"fip"},
	"fip associate": {"fip", "port"}, "fip forward add": {"fip", "l4", "", "port"}, "fip forward delete": {"fip", "l4"},
	"fip forward list": {"fip"},
	"lb show":          {"lb"}, "lb delete": {"lb"}, "lb set": {"lb"}, "lb listener add": {"lb"}, "lb listener delete": {"lb"},
	"lb member add": {"lb", "port"}, "lb member delete": {"lb"}, "lb member enable": {"lb"}, "lb member disable": {"lb"},
	"lb health-check set": {"lb"}, "lb health-check clear": {"lb"},
	"trace": {"port", "", "proto"},
}

// fixedWords are the kinds of argKinds that are a fixed vocabulary.
var fixedWords = map[string][]string{
	"preset": strings.Split(presetNames, ", "),
	"l4":     {"tcp", "udp"},
	"proto":  {"tcp", "udp", "icmp"},
	"kind":   {"port", "network", "router", "floating_ip", "load_balancer"},
	"output": {"table", "json", "yaml"},
}

// addCompletions sets the completions of every command's positionals
// (argKinds) and of the flags naming a network, a kind or a format.
func (c *cli) addCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("output", c.completeKind("output"))
	for _, cmd := range commands(root) {
		if kinds, ok := argKinds[strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")]; ok {
			cmd.ValidArgsFunction = c.completeArgs(kinds)
		}
		for flag, kind := range map[string]string{"network": "network", "kind": "kind", "fip": "fip"} {
			if cmd.LocalNonPersistentFlags().Lookup(flag) != nil {
				_ = cmd.RegisterFlagCompletionFunc(flag, c.completeKind(kind))
			}
		}
	}
}

func (c *cli) completeArgs(kinds []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		i := len(args)
		if last := kinds[len(kinds)-1]; i >= len(kinds) && strings.HasSuffix(last, "...") {
			i = len(kinds) - 1
		}
		if i >= len(kinds) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.names(strings.TrimSuffix(kinds[i], "...")), cobra.ShellCompDirectiveNoFileComp
	}
}

func (c *cli) completeKind(kind string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.names(kind), cobra.ShellCompDirectiveNoFileComp
	}
}

// names are the words completing an argument of kind: a fixed vocabulary,
// or the names of the daemon's objects of that kind (none when the daemon
// does not answer within two seconds).
func (c *cli) names(kind string) []string {
	if w, ok := fixedWords[kind]; ok || kind == "" {
		return w
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cl, err := rpcclient.Dial(ctx, c.socket, "qnetctl")
	if err != nil {
		return nil
	}
	defer cl.Close()
	var out []string
	switch kind {
	case "network":
		if l, err := cl.ListNetworks(ctx, &api.Empty{}); err == nil {
			for _, n := range l.Networks {
				out = append(out, n.Name)
			}
		}
	case "port":
		if l, err := cl.ListPorts(ctx, &api.PortFilter{}); err == nil {
			for _, p := range l.Ports {
				out = append(out, p.Name)
			}
		}
	case "sg":
		if l, err := cl.ListSecurityGroups(ctx, &api.Empty{}); err == nil {
			for _, g := range l.Groups {
				out = append(out, g.Name)
			}
		}
	case "router":
		if l, err := cl.ListRouters(ctx, &api.Empty{}); err == nil {
			for _, r := range l.Routers {
				out = append(out, r.Name)
			}
		}
	case "fip":
		if l, err := cl.ListFloatingIPs(ctx, &api.Empty{}); err == nil {
			for _, f := range l.FloatingIps {
				out = append(out, f.Address)
			}
		}
	case "lb":
		if l, err := cl.ListLoadBalancers(ctx, &api.Empty{}); err == nil {
			for _, b := range l.LoadBalancers {
				out = append(out, b.Name)
			}
		}
	}
	return out
}
