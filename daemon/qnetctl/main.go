// Command qnetctl is QuantumNet's operator CLI. It is thin: every command is
// one call to quantumnetd.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

const usage = `qnetctl: operate QuantumNet through the local quantumnetd.

Usage:
  qnetctl [--socket PATH] [-o table|json] COMMAND

Commands:
  status                                   daemon readiness (NB, SB, OVS, chassis)
  network create NAME [--subnet4 CIDR] [--gateway4 IP] [--subnet6 CIDR] [--gateway6 IP]
                      [--mtu N] [--dns-domain DOMAIN] [--range4 FIRST-LAST] [--range6 FIRST-LAST]
                      [--exclude FIRST-LAST|IP]... [--lease-time S] [--dns-server IP]...
                      [--ntp-server IP]... [--route CIDR=GW]... [--dns-upstream IP[:PORT]]...
  network create NAME --external --physnet PHYSNET [--vlan N] --subnet4 CIDR --gateway4 IP
                      [--subnet6 CIDR --gateway6 IP] [--fip-range FIRST-LAST]
                                           an external (provider) network; gateway4 is the physical router
  network list
  network show NAME
  network set NAME [--mtu N] [--dns-domain D] [--lease-time S] [--dns-server IP]... [--ntp-server IP]...
                   [--route CIDR=GW]... [--dns-upstream IP[:PORT]]...
                                           DHCP/DNS settings; a list flag replaces the list ("none" clears it)
  network delete NAME                      refused while the network has ports
  port list [--network NAME]
  port show PORT                           one port: addresses, chassis, binding, migration
  port set-dns-name PORT NAME              the port is NAME.<network domain> ("" removes the name)
  ipam show NETWORK                        used, free, reserved per subnet; reservations
  ipam reserve NETWORK --owner WHO [--address IP | --ipv6] [--mac MAC]
                                           reserve an address (with --mac: a static binding)
  ipam release NETWORK ADDRESS
` + sgUsage + routerUsage + lbUsage + `  version
` + ruleHelp + `
The socket defaults to $QUANTUMNET_SOCKET, else /run/quantumnet/quantumnetd.sock.
`

type cli struct {
	socket string
	output string
	out    io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout}
	fs := flag.NewFlagSet("qnetctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.socket, "socket", "", "daemon socket path")
	fs.StringVar(&c.output, "o", "table", "output: table or json")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if c.output != "table" && c.output != "json" {
		fmt.Fprintf(stderr, "qnetctl: -o: %q is not table or json\n", c.output)
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	if ok, serr := c.sgCommand(rest); ok {
		err = serr
	} else if ok, rerr := c.routerCommand(rest); ok {
		err = rerr
	} else if ok, lerr := c.lbCommand(rest); ok {
		err = lerr
	} else {
		switch strings.Join(rest[:min(2, len(rest))], " ") {
		case "network create":
			err = c.networkCreate(rest[2:])
		case "network list", "network ls":
			err = c.networkList()
		case "network show":
			err = c.networkShow(rest[2:])
		case "network set":
			err = c.networkSet(rest[2:])
		case "port set-dns-name":
			err = c.portSetDNSName(rest[2:])
		case "network delete", "network rm":
			err = c.networkDelete(rest[2:])
		case "port list", "port ls":
			err = c.portList(rest[2:])
		case "port show":
			err = c.portShow(rest[2:])
		case "ipam show":
			err = c.ipamShow(rest[2:])
		case "ipam reserve":
			err = c.ipamReserve(rest[2:])
		case "ipam release":
			err = c.ipamRelease(rest[2:])
		default:
			switch rest[0] {
			case "status":
				err = c.status()
			case "version":
				err = c.version()
			case "help":
				fmt.Fprint(stdout, usage)
			default:
				fmt.Fprintf(stderr, "qnetctl: unknown command %q\n\n%s", strings.Join(rest, " "), usage)
				return 2
			}
		}
	}
	if err != nil {
		var ue usageErr
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "qnetctl: %s\n", ue)
			return 2
		}
		fmt.Fprintf(stderr, "qnetctl: %s\n", rpcclient.Message(err))
		return rpcclient.CLIExit(err)
	}
	return 0
}

type usageErr string

func (u usageErr) Error() string { return string(u) }

func (c *cli) call(f func(context.Context, *rpcclient.Client) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := rpcclient.Dial(ctx, c.socket, "qnetctl")
	if err != nil {
		return err
	}
	defer cl.Close()
	return f(ctx, cl)
}

func (c *cli) json(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// positional splits one NAME argument from flags given before or after it.
func positional(fs *flag.FlagSet, args []string, what string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageErr(err.Error())
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return "", usageErr(what + ": NAME is required")
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) != name) {
		return "", usageErr(fmt.Sprintf("%s: unexpected argument %q", what, fs.Args()))
	}
	return name, nil
}

func (c *cli) networkCreate(args []string) error {
	fs := flag.NewFlagSet("network create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := &api.Network{}
	var mtu uint
	fs.StringVar(&n.Subnet4, "subnet4", "", "IPv4 subnet CIDR")
	fs.StringVar(&n.Gateway4, "gateway4", "", "IPv4 gateway (default: first address)")
	fs.StringVar(&n.Subnet6, "subnet6", "", "IPv6 subnet CIDR")
	fs.StringVar(&n.Gateway6, "gateway6", "", "IPv6 gateway (default: first address)")
	fs.UintVar(&mtu, "mtu", 0, "MTU (default 1400)")
	fs.StringVar(&n.DnsDomain, "dns-domain", "", "DNS domain")
	fs.StringVar(&n.Range4, "range4", "", "IPv4 allocation range FIRST-LAST")
	fs.StringVar(&n.Range6, "range6", "", "IPv6 allocation range FIRST-LAST")
	fs.Func("exclude", "excluded range FIRST-LAST or address (repeatable)", func(v string) error {
		n.Exclude = append(n.Exclude, v)
		return nil
	})
	var lease, vlan uint
	fs.UintVar(&lease, "lease-time", 0, "DHCP lease time in seconds (default 3600)")
	dhcpListFlags(fs, &n.DnsServers, &n.NtpServers, &n.Routes, &n.DnsUpstream)
	fs.BoolVar(&n.External, "external", false, "an external (provider) network: a localnet port on --physnet, no services")
	fs.StringVar(&n.Physnet, "physnet", "", "external: the physical network the chassis map (ovn-bridge-mappings)")
	fs.UintVar(&vlan, "vlan", 0, "external: VLAN tag (default untagged)")
	fs.StringVar(&n.FipRange, "fip-range", "", "external: FIRST-LAST, where floating IPs and router gateways come from")
	name, err := positional(fs, args, "network create")
	if err != nil {
		return err
	}
	n.Name, n.Mtu, n.LeaseTime, n.Vlan = name, uint32(mtu), uint32(lease), uint32(vlan)
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		got, err := cl.CreateNetwork(ctx, n)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(got)
		}
		fmt.Fprintf(c.out, "network %s created\n", got.Name)
		return c.printNetwork(got)
	})
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

func (c *cli) networkList() error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListNetworks(ctx, &api.Empty{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(l.Networks)
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
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) networkShow(args []string) error {
	name, err := positional(flag.NewFlagSet("network show", flag.ContinueOnError), args, "network show")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		n, err := cl.GetNetwork(ctx, &api.NetworkRef{Name: name})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(n)
		}
		return c.printNetwork(n)
	})
}

func (c *cli) networkDelete(args []string) error {
	name, err := positional(flag.NewFlagSet("network delete", flag.ContinueOnError), args, "network delete")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		if _, err := cl.DeleteNetwork(ctx, &api.NetworkRef{Name: name}); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "network %s deleted\n", name)
		return nil
	})
}

func (c *cli) portList(args []string) error {
	fs := flag.NewFlagSet("port list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	network := fs.String("network", "", "only ports of this network")
	if err := fs.Parse(args); err != nil {
		return usageErr("port list: " + err.Error())
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListPorts(ctx, &api.PortFilter{Network: *network})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(l.Ports)
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
}

func shortID(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func (c *cli) status() error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		st, err := cl.Status(ctx, &api.StatusRequest{})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(st)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "ready:\t%v\n", st.Ready)
		fmt.Fprintf(w, "chassis:\t%s (registered in SB: %v)\n", st.Chassis, st.ChassisRegistered)
		fmt.Fprintf(w, "northbound:\t%s\n", conn(st.NbConnected))
		fmt.Fprintf(w, "southbound:\t%s\n", conn(st.SbConnected))
		fmt.Fprintf(w, "local OVS:\t%s (datapath %s)\n", conn(st.OvsConnected), st.DatapathType)
		for _, p := range st.Problems {
			fmt.Fprintf(w, "problem:\t%s\n", p)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if !st.Ready {
			return errors.New("daemon is not ready")
		}
		return nil
	})
}

func conn(b bool) string {
	if b {
		return "connected"
	}
	return "NOT connected"
}

func (c *cli) version() error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		fmt.Fprintf(c.out, "qnetctl API %d; quantumnetd %s (API %d-%d) on chassis %s\n", api.APIVersion,
			cl.Hello.DaemonVersion, cl.Hello.MinApiVersion, cl.Hello.ApiVersion, cl.Hello.Chassis)
		return nil
	})
}

func (c *cli) ipamShow(args []string) error {
	name, err := positional(flag.NewFlagSet("ipam show", flag.ContinueOnError), args, "ipam show")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		u, err := cl.IPAMShow(ctx, &api.NetworkRef{Name: name})
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(u)
		}
		w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SUBNET\tRANGE\tSIZE\tUSED\tFREE\tRESERVED")
		for _, s := range u.Subnets {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\n", s.Subnet, s.Range, s.Size, s.Used, s.Free, s.Reserved)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		var res []*api.IPAMReservation
		for _, s := range u.Subnets {
			res = append(res, s.Reservations...)
		}
		if len(res) == 0 {
			return nil
		}
		fmt.Fprintln(c.out, "\nreservations:")
		w = tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ADDRESS\tOWNER\tMAC\tIN USE BY")
		for _, r := range res {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Address, r.Owner, dash(r.Mac), dash(r.Port))
		}
		return w.Flush()
	})
}

func (c *cli) ipamReserve(args []string) error {
	fs := flag.NewFlagSet("ipam reserve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	req := &api.IPAMReserveRequest{}
	fs.StringVar(&req.Owner, "owner", "", "who holds the address (required)")
	fs.StringVar(&req.Address, "address", "", "the address to reserve (default: the next free one)")
	fs.BoolVar(&req.Ipv6, "ipv6", false, "reserve the next free IPv6 address")
	fs.StringVar(&req.Mac, "mac", "", "static binding: a port with this MAC gets the address")
	name, err := positional(fs, args, "ipam reserve")
	if err != nil {
		return err
	}
	if req.Owner == "" {
		return usageErr("ipam reserve: --owner is required")
	}
	req.Network = name
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		r, err := cl.IPAMReserve(ctx, req)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return c.json(r)
		}
		fmt.Fprintf(c.out, "reserved %s on %s for %s\n", r.Address, r.Network, r.Owner)
		return nil
	})
}

func (c *cli) ipamRelease(args []string) error {
	if len(args) != 2 {
		return usageErr("ipam release: want NETWORK ADDRESS")
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		if _, err := cl.IPAMRelease(ctx, &api.IPAMReleaseRequest{Network: args[0], Address: args[1]}); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "released %s on %s\n", args[1], args[0])
		return nil
	})
}

func (c *cli) portShow(args []string) error {
	name, err := positional(flag.NewFlagSet("port show", flag.ContinueOnError), args, "port show")
	if err != nil {
		return err
	}
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
		l, err := cl.ListPorts(ctx, &api.PortFilter{})
		if err != nil {
			return err
		}
		for _, p := range l.Ports {
			if p.Name != name {
				continue
			}
			if c.output == "json" {
				return c.json(p)
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
		return fmt.Errorf("port %q: not found", name)
	})
}
