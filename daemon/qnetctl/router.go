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

const routerUsage = `  router create NAME
  router list
  router show NAME                         networks, routes, gateway, its chassis and the active one
  router delete NAME                       refused while networks or a gateway are attached
  router attach ROUTER NETWORK             the network's gateway becomes a port of the router
  router detach ROUTER NETWORK             refused while the network's ports hold floating IPs or forwards
  router route add ROUTER CIDR via IP
  router route delete ROUTER CIDR [via IP]
  router set-gateway ROUTER EXTERNAL-NETWORK [--address IP] [--address6 IP] [--no-snat]
                                           default routes via the external network, SNAT of the
                                           attached networks' IPv4 (IPv6 is routed)
  router clear-gateway ROUTER
  fip create EXTERNAL-NETWORK [--address IP]
  fip list
  fip show FIP
  fip associate FIP PORT [--fixed-ip IP]   the port's network must be on a router with a gateway there
  fip disassociate FIP
  fip delete FIP                           disassociates first, deletes its forwards
  fip forward add FIP tcp|udp PORT TARGET-PORT-NAME TARGET-PORT [--target-address IP]
                                           one port of an unassociated floating IP to one port of
                                           a logical port (it follows the port's first IPv4)
  fip forward delete FIP tcp|udp PORT
  fip forward list FIP
`

// routerCommand runs "router ..." and "fip ..."; ok is false for a command
// it does not know.
func (c *cli) routerCommand(rest []string) (ok bool, err error) {
	key := strings.Join(rest[:min(3, len(rest))], " ")
	switch key {
	case "router route add":
		return true, c.routeEdit(rest[3:], true)
	case "router route delete", "router route rm":
		return true, c.routeEdit(rest[3:], false)
	case "fip forward add":
		return true, c.forwardAdd(rest[3:])
	case "fip forward delete", "fip forward rm":
		return true, c.forwardDelete(rest[3:])
	case "fip forward list", "fip forward ls":
		return true, c.forwardList(rest[3:])
	}
	key = strings.Join(rest[:min(2, len(rest))], " ")
	run := map[string]func([]string) error{
		"router create": c.routerCreate, "router list": c.routerList, "router ls": c.routerList,
		"router show": c.routerShow, "router delete": c.routerDelete, "router rm": c.routerDelete,
		"router attach":      func(a []string) error { return c.routerNetwork(a, true) },
		"router detach":      func(a []string) error { return c.routerNetwork(a, false) },
		"router set-gateway": c.routerSetGateway, "router clear-gateway": c.routerClearGateway,
		"fip create": c.fipCreate, "fip list": c.fipList, "fip ls": c.fipList, "fip show": c.fipShow,
		"fip associate": c.fipAssociate, "fip disassociate": c.fipDisassociate,
		"fip delete": c.fipDelete, "fip rm": c.fipDelete,
	}
	if f, ok := run[key]; ok {
		return true, f(rest[2:])
	}
	return false, nil
}

// positionals parses flags given anywhere among exactly n arguments.
func positionals(fs *flag.FlagSet, args []string, n int, what, names string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr(what + ": " + err.Error())
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, usageErr(fmt.Sprintf("%s: %s required (see qnetctl help)", what, names))
	}
	return pos, nil
}

// routerReply is the reply of a call answering with a router: msg (""
// none) and the router.
func (c *cli) routerReply(msg string) func(*api.Router, error) error {
	return func(got *api.Router, err error) error {
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(got)
		}
		if msg != "" {
			fmt.Fprintln(c.out, msg)
		}
		return c.printRouter(got)
	}
}

func (c *cli) routerCreate(args []string) error {
	a, err := bare(args, 1, "router create", "NAME is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).CreateRouter, &api.Router{Name: a[0]}, c.routerReply("router "+a[0]+" created"))
}

func (c *cli) routerShow(args []string) error {
	a, err := bare(args, 1, "router show", "NAME is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).GetRouter, &api.RouterRef{Name: a[0]}, c.routerReply(""))
}

func (c *cli) routerDelete(args []string) error {
	a, err := bare(args, 1, "router delete", "NAME is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).DeleteRouter, &api.RouterRef{Name: a[0]}, said[*api.Empty](c, "router "+a[0]+" deleted"))
}

func (c *cli) routerNetwork(args []string, attach bool) error {
	what := map[bool]string{true: "router attach", false: "router detach"}[attach]
	a, err := bare(args, 2, what, "ROUTER and NETWORK are")
	if err != nil {
		return err
	}
	req := &api.RouterNetwork{Router: a[0], Network: a[1]}
	if attach {
		return rpc(c, (*rpcclient.Client).AttachNetwork, req, c.routerReply(fmt.Sprintf("network %s attached to router %s", a[1], a[0])))
	}
	return rpc(c, (*rpcclient.Client).DetachNetwork, req, c.routerReply(fmt.Sprintf("network %s detached from router %s", a[1], a[0])))
}

// routeEdit: "ROUTER CIDR via IP" (delete: "via IP" optional).
func (c *cli) routeEdit(args []string, add bool) error {
	what := map[bool]string{true: "router route add", false: "router route delete"}[add]
	req := &api.RouterRoute{}
	switch {
	case len(args) == 4 && args[2] == "via":
		req.Router, req.Prefix, req.Nexthop = args[0], args[1], args[3]
	case len(args) == 2 && !add:
		req.Router, req.Prefix = args[0], args[1]
	default:
		return usageErr(what + ": ROUTER CIDR via IP required (e.g. router route add r1 192.168.10.0/24 via 10.0.1.254)")
	}
	if add {
		return rpc(c, (*rpcclient.Client).AddRoute, req, c.routerReply("route added"))
	}
	return rpc(c, (*rpcclient.Client).DeleteRoute, req, c.routerReply("route deleted"))
}

func (c *cli) routerSetGateway(args []string) error {
	fs := flag.NewFlagSet("router set-gateway", flag.ContinueOnError)
	req := &api.RouterGateway{}
	fs.StringVar(&req.Address, "address", "", "the router's IPv4 address on the external network (default: the next free of its range)")
	fs.StringVar(&req.Address6, "address6", "", "its IPv6 address (default: the next free, when the network has IPv6)")
	fs.BoolVar(&req.NoSnat, "no-snat", false, "no SNAT: the attached networks' addresses leave as they are")
	a, err := positionals(fs, args, 2, "router set-gateway", "ROUTER and EXTERNAL-NETWORK are")
	if err != nil {
		return err
	}
	req.Router, req.Network = a[0], a[1]
	return rpc(c, (*rpcclient.Client).SetRouterGateway, req, c.routerReply(fmt.Sprintf("router %s has its gateway on %s", a[0], a[1])))
}

func (c *cli) routerClearGateway(args []string) error {
	a, err := bare(args, 1, "router clear-gateway", "ROUTER is")
	if err != nil {
		return err
	}
	return rpc(c, (*rpcclient.Client).ClearRouterGateway, &api.RouterRef{Name: a[0]}, c.routerReply("gateway of router "+a[0]+" cleared"))
}

func (c *cli) routerList([]string) error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListRouters(ctx, &api.Empty{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(l.Routers)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tNETWORKS\tGATEWAY\tADDRESSES\tACTIVE CHASSIS")
		for _, r := range l.Routers {
			gw, addrs, active := "-", "-", "-"
			if g := r.Gateway; g != nil {
				gw, addrs, active = g.Network, strings.Join(g.Addresses, ","), dash(g.ActiveChassis)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(strings.Join(r.Networks, ",")), gw, addrs, active)
		}
		return w.Flush()
	})
}

func (c *cli) printRouter(r *api.Router) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name:\t%s\n", r.Name)
	fmt.Fprintf(w, "networks:\t%s\n", dash(strings.Join(r.Networks, ", ")))
	fmt.Fprintf(w, "routes:\t%s\n", dash(strings.Join(r.Routes, ", ")))
	if g := r.Gateway; g != nil {
		snat := "SNAT of the attached networks' IPv4"
		if !g.Snat {
			snat = "no SNAT"
		}
		fmt.Fprintf(w, "gateway:\ton %s, %s (%s)\n", g.Network, strings.Join(g.Addresses, ", "), snat)
		var cs []string
		for _, ch := range g.Chassis {
			cs = append(cs, fmt.Sprintf("%s (%d)", ch.Name, ch.Priority))
		}
		fmt.Fprintf(w, "gateway chassis:\t%s\n", dash(strings.Join(cs, ", ")))
		fmt.Fprintf(w, "active chassis:\t%s\n", dash(g.ActiveChassis))
	} else {
		fmt.Fprintf(w, "gateway:\t-\n")
	}
	fmt.Fprintf(w, "logical router:\tqn-lr-%s (%s)\n", r.Name, r.Uuid)
	return w.Flush()
}
