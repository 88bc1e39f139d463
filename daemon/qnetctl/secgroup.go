package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

const sgUsage = `  sg create NAME [--description TEXT] [--rule RULE]... [--preset PRESET]...
                                           a group without rules isolates its ports
  sg list
  sg show NAME                             rules (with ids), member ports
  sg delete NAME                           refused while ports are in it
  sg rule add GROUP RULE...                e.g. sg rule add web ingress tcp 80-443 from 10.0.0.0/8
  sg rule delete GROUP RULE-ID|RULE...
  sg preset add GROUP PRESET               ssh, web, rdp, database, icmp, internal
  sg preset list
  port set-security-groups PORT [GROUP...] change a live port's groups (none: the network default)
`

const ruleHelp = `
Rules: [admin] [allow|deny] ingress|egress [ipv4|ipv6] [PROTOCOL [PORT[-PORT] | type T [code C]]]
       [from|to CIDR|sg:GROUP|sg:self] [stateless]
  PROTOCOL is tcp, udp, sctp, icmp, icmpv6, any or "proto N". Several rules at once: quote each.
`

var presetNames = "ssh, web, rdp, database, icmp, internal"

// sgCommand runs "sg ..." and "port set-security-groups"; ok is false for
// a command it does not know.
func (c *cli) sgCommand(rest []string) (ok bool, err error) {
	key := strings.Join(rest[:min(3, len(rest))], " ")
	switch {
	case strings.HasPrefix(key, "sg rule add"):
		return true, c.sgRules(rest[3:], true, "")
	case strings.HasPrefix(key, "sg rule delete"), strings.HasPrefix(key, "sg rule rm"):
		return true, c.sgRules(rest[3:], false, "")
	case strings.HasPrefix(key, "sg preset add"):
		if len(rest) != 5 {
			return true, usageErr("sg preset add: GROUP and PRESET are required (presets: " + presetNames + ")")
		}
		return true, c.sgRules([]string{rest[3]}, true, rest[4])
	case key == "sg preset list" || key == "sg preset ls":
		fmt.Fprintln(c.out, strings.ReplaceAll(presetNames, ", ", "\n"))
		return true, nil
	}
	switch strings.Join(rest[:min(2, len(rest))], " ") {
	case "sg create":
		return true, c.sgCreate(rest[2:])
	case "sg list", "sg ls":
		return true, c.sgList()
	case "sg show":
		return true, c.sgShow(rest[2:])
	case "sg delete", "sg rm":
		return true, c.sgDelete(rest[2:])
	case "port set-security-groups":
		return true, c.portSetGroups(rest[2:])
	}
	return false, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (c *cli) sgCreate(args []string) error {
	fs := flag.NewFlagSet("sg create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	desc := fs.String("description", "", "what the group is for")
	var rules, presets multiFlag
	fs.Var(&rules, "rule", "a rule (repeatable)")
	fs.Var(&presets, "preset", "a preset's rules (repeatable)")
	name, err := positional(fs, args, "sg create")
	if err != nil {
		return err
	}
	g := &api.SecurityGroup{Name: name, Description: *desc}
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
		if c.output == "json" {
			return c.json(out)
		}
		fmt.Fprintf(c.out, "security group %s created\n", name)
		return c.printGroup(out)
	})
}

func (c *cli) printGroup(g *api.SecurityGroup) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", g.Name)
	if g.Description != "" {
		fmt.Fprintf(w, "description:\t%s\n", g.Description)
	}
	fmt.Fprintf(w, "ports:\t%s\n", dash(strings.Join(g.Ports, ", ")))
	fmt.Fprintf(w, "acls:\t%d\n", g.Acls)
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

func (c *cli) sgList() error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListSecurityGroups(ctx, &api.Empty{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(l.Groups)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tRULES\tPORTS\tDESCRIPTION")
		for _, g := range l.Groups {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", g.Name, len(g.Rules), len(g.Ports), g.Description)
		}
		return w.Flush()
	})
}

func (c *cli) sgShow(args []string) error {
	name, err := positional(flag.NewFlagSet("sg show", flag.ContinueOnError), args, "sg show")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		g, err := cl.GetSecurityGroup(ctx, &api.SecurityGroupRef{Name: name})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(g)
		}
		return c.printGroup(g)
	})
}

func (c *cli) sgDelete(args []string) error {
	name, err := positional(flag.NewFlagSet("sg delete", flag.ContinueOnError), args, "sg delete")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		if _, err := cl.DeleteSecurityGroup(ctx, &api.SecurityGroupRef{Name: name}); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "security group %s deleted\n", name)
		return nil
	})
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

func (c *cli) sgRules(args []string, add bool, preset string) error {
	what := "sg rule delete"
	if add {
		what = "sg rule add"
	}
	if len(args) == 0 {
		return usageErr(what + ": GROUP is required")
	}
	req := &api.SecurityGroupRules{Group: args[0], Rules: ruleArgs(args[1:]), Preset: preset}
	if preset == "" && len(req.Rules) == 0 {
		return usageErr(what + ": a RULE is required")
	}
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
		if c.output == "json" {
			return c.json(r)
		}
		if add {
			if len(r.Added) == 0 {
				fmt.Fprintf(c.out, "security group %s has these rules already\n", req.Group)
			}
			for _, a := range r.Added {
				fmt.Fprintf(c.out, "added %s  %s\n", a.Id, a.Spec)
			}
		} else {
			fmt.Fprintf(c.out, "deleted %d rule(s) from security group %s\n", len(req.Rules), req.Group)
		}
		return nil
	})
}

func (c *cli) portSetGroups(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr("port set-security-groups: PORT is required")
	}
	var groups []string
	for _, a := range args[1:] {
		for _, g := range strings.Split(a, ",") {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		p, err := cl.SetPortSecurityGroups(ctx, &api.PortSecurityGroups{Port: args[0], SecurityGroups: groups})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(p)
		}
		if len(p.SecurityGroups) == 0 {
			fmt.Fprintf(c.out, "port %s: no security groups (the network's default: allow all)\n", p.Name)
			return nil
		}
		fmt.Fprintf(c.out, "port %s: security groups %s\n", p.Name, strings.Join(p.SecurityGroups, ", "))
		return nil
	})
}
