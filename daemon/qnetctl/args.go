package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Flags in any position. Cobra finds the command from the words before
// the flags only when it knows every flag on the way: a flag before the
// command words that belongs to a subcommand (or -h/--help, which cobra
// adds only once the command is found) swallows the next word as its value,
// so `qnetctl --help network create` printed the root's help and
// `qnetctl sg --log-drops set web` failed. commandFirst moves the command
// words to the front, keeping every other argument in its order, so the
// flags may stand before, between or after the command words.

// commandFirst returns args with the command words (the path from root to
// the command they name) first and every other argument after them, in
// order. A flag takes the next argument as its value when it is a flag of
// the command found so far or of one of its subcommands that takes a
// value (not a bool, and not written --flag=value or -oVALUE); "--" ends
// the search. Cobra's hidden completion requests are left as they are.
func commandFirst(root *cobra.Command, args []string) []string {
	if len(args) > 0 && strings.HasPrefix(args[0], "__complete") {
		return args
	}
	var words, rest []string
	cmd := root
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			return append(words, rest...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			rest = append(rest, a)
			if takesValue(cmd, a) && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
		default:
			sub := subcommand(cmd, a)
			if sub == nil {
				// The command is found: the rest are its arguments.
				rest = append(rest, args[i:]...)
				return append(words, rest...)
			}
			words = append(words, a)
			cmd = sub
		}
	}
	return append(words, rest...)
}

// subcommand is cmd's subcommand called (or aliased) name, or nil.
func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, s := range cmd.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}

// takesValue says whether the flag argument a (-x, --name, possibly with
// its value attached) takes the next argument as its value, for cmd or
// any command below it. An unknown flag takes none: cobra reports it.
func takesValue(cmd *cobra.Command, a string) bool {
	name, short := strings.TrimPrefix(a, "--"), false
	if !strings.HasPrefix(a, "--") {
		if len(a) != 2 { // -oVALUE, or bool shorthands run together
			return false
		}
		name, short = a[1:], true
	}
	if strings.Contains(name, "=") {
		return false
	}
	f := lookupFlag(cmd, name, short)
	return f != nil && f.NoOptDefVal == ""
}

// lookupFlag finds the flag called name (or with that shorthand) among the
// flags of cmd, its parents' persistent flags and the flags of every
// command below cmd. TestFlagArity checks that no two such flags disagree
// on whether they take a value.
func lookupFlag(cmd *cobra.Command, name string, short bool) *pflag.Flag {
	if name == "help" || (short && name == "h") {
		return &pflag.Flag{Name: "help", NoOptDefVal: "true"} // cobra adds it at run time
	}
	var found *pflag.Flag
	visitFlags(cmd, func(f *pflag.Flag) {
		if found == nil && ((!short && f.Name == name) || (short && f.Shorthand == name)) {
			found = f
		}
	})
	return found
}

// visitFlags calls fn on the flags of cmd (with its inherited ones) and of
// every command below it.
func visitFlags(cmd *cobra.Command, fn func(*pflag.Flag)) {
	cmd.InheritedFlags().VisitAll(fn)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(fn)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cmd)
}
