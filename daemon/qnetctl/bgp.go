package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// bgpCmd is `qnetctl bgp`: the local daemon's BGP speaker.
func (c *cli) bgpCmd() *cobra.Command {
	show := &cobra.Command{
		Use:   "show",
		Short: "Show this daemon's BGP speaker: its neighbours' sessions and the routes it announces, with why",
		Example: `  qnetctl bgp show
  qnetctl bgp show -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return rpc(c, (*rpcclient.Client).GetBGP, &api.Empty{}, func(st *api.BGPStatus, err error) error {
				if err != nil {
					return err
				}
				if c.structured() {
					return c.print(st)
				}
				return c.printBGP(st)
			})
		},
	}
	return c.groupCmd("bgp", "BGP to the top-of-rack routers: what this chassis announces", show)
}

func (c *cli) printBGP(st *api.BGPStatus) error {
	if !st.Enabled {
		fmt.Fprintln(c.out, "bgp: off (no [bgp] section in this daemon's config)")
		return nil
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "AS %d, router id %s\n\n", st.Asn, st.RouterId)
	fmt.Fprintln(w, "NEIGHBOR\tAS\tSTATE\tUPTIME\tRECEIVED\tADVERTISED")
	for _, n := range st.Neighbors {
		fmt.Fprintf(w, "%s\t%d\t%s\t%ds\t%d\t%d\n", n.Address, n.Asn, n.State, n.UptimeSeconds, n.Received, n.Advertised)
	}
	fmt.Fprintln(w, "\nPREFIX\tNEXT HOP\tKIND\tWHY")
	for _, r := range st.Announced {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Prefix, r.NextHop, r.Kind, r.Reason)
	}
	return w.Flush()
}
