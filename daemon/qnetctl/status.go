package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

func (c *cli) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's readiness: Northbound, Southbound, local OVS, chassis",
		Long: `Show whether the daemon is ready to serve (can set up ports): its connections
to the OVN Northbound and Southbound databases and to the local OVS, and the
chassis. Exits 1 when it is not ready, so that scripts can wait on it.`,
		Example: `  qnetctl status
  until qnetctl status >/dev/null 2>&1; do sleep 1; done`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			return c.call(func(ctx context.Context, cl *rpcclient.Client) error {
				st, err := cl.Status(ctx, &api.StatusRequest{})
				if err != nil {
					return err
				}
				if c.structured() {
					if err := c.print(st); err != nil {
						return err
					}
				} else if err := c.printStatus(st); err != nil {
					return err
				}
				if !st.Ready {
					return errors.New("daemon is not ready")
				}
				return nil
			})
		},
	}
}

func (c *cli) printStatus(st *api.StatusReply) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "ready:\t%v\n", st.Ready)
	fmt.Fprintf(w, "chassis:\t%s (registered in SB: %v)\n", st.Chassis, st.ChassisRegistered)
	fmt.Fprintf(w, "northbound:\t%s\n", conn(st.NbConnected))
	fmt.Fprintf(w, "southbound:\t%s\n", conn(st.SbConnected))
	fmt.Fprintf(w, "local OVS:\t%s (datapath %s)\n", conn(st.OvsConnected), st.DatapathType)
	for _, p := range st.Problems {
		fmt.Fprintf(w, "problem:\t%s\n", p)
	}
	return w.Flush()
}

func conn(b bool) string {
	if b {
		return "connected"
	}
	return "NOT connected"
}

// versionInfo is `qnetctl version -o json|yaml`.
type versionInfo struct {
	Client versionClient  `json:"client"`
	Server *versionServer `json:"server"`
	// ServerError says why the server's version is missing.
	ServerError string `json:"server_error,omitempty"`
}

type versionClient struct {
	Version    string `json:"version"`
	APIVersion uint32 `json:"api_version"`
}

type versionServer struct {
	Version       string `json:"version"`
	APIVersion    uint32 `json:"api_version"`
	MinAPIVersion uint32 `json:"min_api_version"`
	Chassis       string `json:"chassis"`
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print qnetctl's version, and the daemon's when it is reachable",
		Long: `Print qnetctl's version and API version, and, when the daemon answers within
a few seconds, quantumnetd's version, the API versions it serves and its
chassis. An unreachable daemon is not an error here (exit 0): the line says
why it is missing.`,
		Example: `  qnetctl version
  qnetctl version -o json`,
		Args: none,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo{Client: versionClient{Version: Version, APIVersion: api.APIVersion}}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if cl, err := rpcclient.Dial(ctx, c.socket, "qnetctl"); err != nil {
				v.ServerError = rpcclient.Message(err)
			} else {
				h := cl.Hello
				cl.Close()
				v.Server = &versionServer{Version: h.DaemonVersion, APIVersion: h.ApiVersion, MinAPIVersion: h.MinApiVersion, Chassis: h.Chassis}
			}
			if c.structured() {
				return printValue(c.out, c.output, v)
			}
			fmt.Fprintf(c.out, "qnetctl %s (API %d)\n", v.Client.Version, v.Client.APIVersion)
			if s := v.Server; s != nil {
				fmt.Fprintf(c.out, "quantumnetd %s (API %d-%d) on chassis %s\n", s.Version, s.MinAPIVersion, s.APIVersion, s.Chassis)
			} else {
				msg := v.ServerError
				if !strings.HasPrefix(msg, "quantumnetd") {
					msg = "quantumnetd: " + msg
				}
				fmt.Fprintln(c.out, msg)
			}
			return nil
		},
	}
}
