// Command qnetctl is QuantumNet's operator CLI. It is thin: every command is
// one call to quantumnetd (a watch is one stream). The commands are cobra
// commands: help with examples on every one (--help, anywhere), flags in
// any position, -o table|json|yaml, "did you mean" for a mistyped command,
// shell completion, and a reference generated from the commands themselves
// (gen-docs, gen-man; REFERENCE.md beside this file).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// Version is qnetctl's version, set at build time (-X main.Version=...).
var Version = "dev"

// exitCodes is the documented meaning of qnetctl's exit codes: 0, 2 (a
// usage error, found before the daemon is asked) and rpcclient.CLIExit's
// codes for a command the daemon refused or could not run
// (TestExitCodesDocumented holds the two together).
const exitCodes = `Exit codes:
  0  success
  1  the daemon refused or could not run the command: invalid argument,
     not found, conflict, exhausted, in use, unavailable (the daemon, or a
     database it needs, is not reachable or not ready), timed out; and
     status when the daemon is not ready. The message on stderr says which.
  2  usage error: unknown command or flag, missing or extra arguments, a bad
     flag value (nothing was sent to the daemon)`

const rootLong = `qnetctl operates QuantumNet through the local quantumnetd.

Every command is one call to the daemon, over its socket: --socket, else
$QUANTUMNET_SOCKET, else /run/quantumnet/quantumnetd.sock. Flags, --help
too, go anywhere: before, between or after the command words. Read commands
print a table, or with -o json / -o yaml the daemon's objects with the API's
field names (snake_case; every field present, zeros and empty lists too,
but an absent sub-object; lists are arrays).

` + exitCodes

type cli struct {
	socket string
	output string
	out    io.Writer
	errOut io.Writer
	// running: the command's arguments and flags were accepted; an error
	// before that is a usage error (exit 2).
	running bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs qnetctl with args and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout, errOut: stderr}
	root := c.root()
	root.SetArgs(commandFirst(root, args))
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ue usageErr
	if errors.As(err, &ue) || !c.running {
		msg := strings.TrimRight(err.Error(), "\n")
		if !strings.HasPrefix(msg, "qnetctl") {
			msg = "qnetctl: " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 2
	}
	fmt.Fprintf(stderr, "qnetctl: %s\n", rpcclient.Message(err))
	return rpcclient.CLIExit(err)
}

// root is the qnetctl command with every subcommand.
func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "qnetctl",
		Short: "Operate QuantumNet through the local quantumnetd",
		Long:  rootLong,
		Example: `  qnetctl network create blue --subnet4 10.0.1.0/24
  qnetctl port list --network blue -o json
  qnetctl sg create web --preset web
  qnetctl completion bash > /etc/bash_completion.d/qnetctl`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		Args:              c.group,
		RunE:              func(cmd *cobra.Command, _ []string) error { return c.noSubcommand(cmd) },
		PersistentPreRunE: func(*cobra.Command, []string) error {
			switch c.output {
			case "table", "json", "yaml":
			default:
				return usageErr(fmt.Sprintf("-o: %q is not table, json or yaml", c.output))
			}
			c.running = true
			return nil
		},
	}
	root.PersistentFlags().StringVar(&c.socket, "socket", "", "the daemon's socket (default $QUANTUMNET_SOCKET, else /run/quantumnet/quantumnetd.sock)")
	root.PersistentFlags().StringVarP(&c.output, "output", "o", "table", "output format: table, json or yaml")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErr(fmt.Sprintf("%s: %v (see '%s --help')", cmd.CommandPath(), err, cmd.CommandPath()))
	})
	root.AddCommand(c.statusCmd(), c.versionCmd(), c.networkCmd(), c.portCmd(), c.ipamCmd(), c.sgCmd(),
		c.routerCmd(), c.fipCmd(), c.lbCmd(), c.bgpCmd(), c.bastionCmd(), c.eventsCmd(), c.topologyCmd(), c.traceCmd(),
		c.genDocsCmd(), c.genManCmd())
	root.SetOut(c.out) // before the completion command, which keeps its writer
	root.SetErr(c.errOut)
	root.InitDefaultCompletionCmd() // now, not at Execute: gen-docs and the README index list it too
	c.addCompletions(root)
	return root
}

type usageErr string

func (u usageErr) Error() string { return string(u) }

// group is the Args of a command that only holds subcommands: an argument
// is an unknown subcommand, with cobra's suggestions.
func (c *cli) group(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return usageErr(msg + "\n\nRun '" + cmd.CommandPath() + " --help' for usage.")
}

// noSubcommand is the Run of a group called alone: its help, on stderr,
// and a usage error.
func (c *cli) noSubcommand(cmd *cobra.Command) error {
	cmd.SetOut(c.errOut)
	_ = cmd.Help()
	return usageErr(cmd.CommandPath() + ": a subcommand is required")
}

// groupCmd is a command holding subs.
func (c *cli) groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: c.group,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.noSubcommand(cmd) }}
	g.AddCommand(subs...)
	return g
}

// exactly is the Args of a command taking exactly the positionals names
// (upper case, space-separated).
func exactly(names string) cobra.PositionalArgs {
	n := len(strings.Fields(names))
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if len(args) < n {
			return usageErr(fmt.Sprintf("%s: %s required (see '%s --help')", cmd.CommandPath(), strings.Join(strings.Fields(names)[len(args):], " "), cmd.CommandPath()))
		}
		return usageErr(fmt.Sprintf("%s: unexpected argument %q (wants %s; see '%s --help')", cmd.CommandPath(), args[n], names, cmd.CommandPath()))
	}
}

// none is the Args of a command without positionals.
func none(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr(fmt.Sprintf("%s: unexpected argument %q (see '%s --help')", cmd.CommandPath(), args[0], cmd.CommandPath()))
	}
	return nil
}

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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortID(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
