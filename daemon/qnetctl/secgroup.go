package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

const ruleHelp = `Rules: [admin] [allow|deny] ingress|egress [ipv4|ipv6] [PROTOCOL [PORT[-PORT] | type T [code C]]]
       [from|to CIDR|sg:GROUP|sg:self|sg:bastion-NAME] [stateless]
  PROTOCOL is tcp, udp, sctp, icmp, icmpv6, any or "proto N".
  sg:bastion-NAME is the peers of WireGuard bastion NAME (IPv4 rules only).
  Several rules at once: quote each.`

var presetNames = "ssh, web, rdp, database, icmp, internal"

func (c *cli) sgCmd() *cobra.Command {
	g := c.groupCmd("sg", "Security groups: rules, presets, members, drop logging",
		c.sgCreateCmd(), c.sgListCmd(), c.sgShowCmd(), c.sgDeleteCmd(), c.sgSetCmd(),
		c.groupCmd("rule", "Add or delete rules of a security group", c.sgRuleCmd(true), c.sgRuleCmd(false)),
		c.groupCmd("preset", "Presets: named sets of rules", c.sgPresetAddCmd(), c.sgPresetListCmd()))
	g.Example = `  qnetctl sg create web --preset web
  qnetctl sg rule add web ingress tcp 8080 from 10.0.0.0/8
  qnetctl sg show web
  qnetctl sg set web --log-drops`
	g.Long = "Security groups: sets of rules (ACLs) on the ports that are members.\n\n" + ruleHelp
	return g
}

func (c *cli) sgCreateCmd() *cobra.Command {
	var desc string
	var rules, presets []string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a security group (without rules it isolates its ports)",
		Long:  "Create a security group. A group without rules drops its ports' ingress and allows egress.\n\n" + ruleHelp,
		Example: `  qnetctl sg create web --preset web --preset ssh
  qnetctl sg create db --description "postgres" --rule "ingress tcp 5432 from sg:web"`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			name := a[0]
			g := &api.SecurityGroup{Name: name, Description: desc}
			for _, r := range rules {
				g.Rules = append(g.Rules, &api.SecurityGroupRule{Spec: r})
			}
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				out, err := cl.CreateSecurityGroup(ctx, g)
				if err != nil {
					return err
				}
				for _, p := range presets {
					r, err := cl.AddSecurityGroupRules(ctx, &api.SecurityGroupRules{Group: name, Preset: p})
					if err != nil {
						return fmt.Errorf("security group %s created, but preset %s: %w", name, p, err)
					}
					out = r.Group
				}
				if c.structured() {
					return c.print(out)
				}
				fmt.Fprintf(c.out, "security group %s created\n", name)
				return c.printGroup(out)
			})
		},
	}
	cmd.Flags().StringVar(&desc, "description", "", "what the group is for")
	cmd.Flags().StringArrayVar(&rules, "rule", nil, "a rule (repeatable)")
	cmd.Flags().StringArrayVar(&presets, "preset", nil, "a preset's rules (repeatable): "+presetNames)
	return cmd
}

func (c *cli) printGroup(g *api.SecurityGroup) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", g.Name)
	if g.Description != "" {
		fmt.Fprintf(w, "description:\t%s\n", g.Description)
	}
	fmt.Fprintf(w, "ports:\t%s\n", dash(strings.Join(g.Ports, ", ")))
	fmt.Fprintf(w, "acls:\t%d\n", g.Acls)
	fmt.Fprintf(w, "log drops:\t%s\n", map[bool]string{true: "yes", false: "no"}[g.LogDrops])
	if len(g.Rules) == 0 {
		fmt.Fprintf(w, "rules:\tnone (ingress dropped, egress allowed)\n")
		return w.Flush()
	}
	fmt.Fprintf(w, "rules:\n")
	for _, r := range g.Rules {
		fmt.Fprintf(w, "  %s\t%s\n", r.Id, r.Spec)
	}
	return w.Flush()
}

func (c *cli) sgListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List security groups",
		Example: `  qnetctl sg list
  qnetctl sg list -o yaml`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				l, err := cl.ListSecurityGroups(ctx, &api.Empty{})
				if err != nil {
					return err
				}
				if c.structured() {
					return printList(c.out, c.output, l.Groups)
				}
				w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tRULES\tPORTS\tDESCRIPTION")
				for _, g := range l.Groups {
					fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", g.Name, len(g.Rules), len(g.Ports), g.Description)
				}
				return w.Flush()
			})
		},
	}
}

func (c *cli) sgShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a security group: rules (with ids), member ports, drop logging",
		Example: `  qnetctl sg show web
  qnetctl sg show web -o json`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return rpc(c, (*rpcclient.Client).GetSecurityGroup, &api.SecurityGroupRef{Name: a[0]}, c.groupReply(""))
		},
	}
}

// groupReply is the reply of a call answering with a security group: msg
// ("" none) and the group.
func (c *cli) groupReply(msg string) func(*api.SecurityGroup, error) error {
	return func(g *api.SecurityGroup, err error) error {
		if err != nil {
			return err
		}
		if c.structured() {
			return c.print(g)
		}
		if msg != "" {
			fmt.Fprintln(c.out, msg)
		}
		return c.printGroup(g)
	}
}

func (c *cli) sgDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a security group (refused while ports are in it)",
		Example: `  qnetctl sg delete web`,
		Args:    exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			return rpc(c, (*rpcclient.Client).DeleteSecurityGroup, &api.SecurityGroupRef{Name: a[0]}, said[*api.Empty](c, "security group "+a[0]+" deleted"))
		},
	}
}

func (c *cli) sgSetCmd() *cobra.Command {
	var on, off bool
	cmd := &cobra.Command{
		Use:   "set NAME --log-drops|--no-log-drops",
		Short: "Turn logging of a security group's drops on or off",
		Long: `Turn logging of the packets a security group drops on or off. Logged drops go
to ovn-controller's log on the chassis of the port (ovn-controller.log, lines
with "acl_log"), rate-limited by a meter so that a flood cannot fill the disk.`,
		Example: `  qnetctl sg set web --log-drops
  qnetctl sg set web --no-log-drops`,
		Args: exactly("NAME"),
		RunE: func(_ *cobra.Command, a []string) error {
			if on == off {
				return usageErr("sg set: give one of --log-drops or --no-log-drops")
			}
			msg := fmt.Sprintf("security group %s: drops are %s", a[0], map[bool]string{true: "logged", false: "not logged"}[on])
			return rpc(c, (*rpcclient.Client).SetSecurityGroupLogging, &api.SecurityGroupLogging{Name: a[0], LogDrops: on}, c.groupReply(msg))
		},
	}
	cmd.Flags().BoolVar(&on, "log-drops", false, "log the packets the group drops")
	cmd.Flags().BoolVar(&off, "no-log-drops", false, "stop logging them")
	return cmd
}

// ruleArgs reads rules from arguments: one rule written as several words,
// or several rules, each one quoted argument.
func ruleArgs(args []string) []string {
	for _, a := range args {
		if strings.ContainsAny(a, " \t") {
			return args
		}
	}
	if len(args) == 0 {
		return nil
	}
	return []string{strings.Join(args, " ")}
}

func (c *cli) sgRuleCmd(add bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add GROUP RULE...",
		Short: "Add rules to a security group",
		Long:  "Add rules to a security group: one rule written as several words, or several rules, each quoted.\n\n" + ruleHelp,
		Example: `  qnetctl sg rule add web ingress tcp 80-443 from 10.0.0.0/8
  qnetctl sg rule add web "ingress tcp 22 from sg:admin" "ingress icmp"`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) < 2 {
				return usageErr(cmd.CommandPath() + ": GROUP and a RULE are required (see '" + cmd.CommandPath() + " --help')")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, a []string) error { return c.sgRules(a[0], ruleArgs(a[1:]), add, "") },
	}
	if !add {
		cmd.Use, cmd.Aliases, cmd.Short = "delete GROUP RULE-ID|RULE...", []string{"rm"}, "Delete rules of a security group, by id or as written"
		cmd.Long = "Delete rules of a security group: by id (sg show lists them), or as written when added.\n\n" + ruleHelp
		cmd.Example = `  qnetctl sg rule delete web 4f1c2a
  qnetctl sg rule delete web ingress tcp 80-443 from 10.0.0.0/8`
	}
	return cmd
}

func (c *cli) sgPresetAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "add GROUP PRESET",
		Short:   "Add a preset's rules to a security group (" + presetNames + ")",
		Example: `  qnetctl sg preset add web ssh`,
		Args:    exactly("GROUP PRESET"),
		RunE:    func(_ *cobra.Command, a []string) error { return c.sgRules(a[0], nil, true, a[1]) },
	}
}

func (c *cli) sgPresetListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the presets",
		Example: `  qnetctl sg preset list`,
		Args:    none,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(c.out, strings.ReplaceAll(presetNames, ", ", "\n"))
			return nil
		},
	}
}

func (c *cli) sgRules(group string, rules []string, add bool, preset string) error {
	req := &api.SecurityGroupRules{Group: group, Rules: rules, Preset: preset}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		var r *api.SecurityGroupRulesReply
		var err error
		if add {
			r, err = cl.AddSecurityGroupRules(ctx, req)
		} else {
			r, err = cl.DeleteSecurityGroupRules(ctx, req)
		}
		if err != nil {
			return err
		}
		if c.structured() {
			return c.print(r)
		}
		if !add {
			fmt.Fprintf(c.out, "deleted %d rule(s) from security group %s\n", len(req.Rules), req.Group)
			return nil
		}
		if len(r.Added) == 0 {
			fmt.Fprintf(c.out, "security group %s has these rules already\n", req.Group)
		}
		for _, a := range r.Added {
			fmt.Fprintf(c.out, "added %s  %s\n", a.Id, a.Spec)
		}
		return nil
	})
}
