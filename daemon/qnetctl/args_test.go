package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCommandFirst: global and local flags before, between or after the
// command words reach the command they belong to; positionals keep their
// order; a flag's value that is also a command's name stays a value.
func TestCommandFirst(t *testing.T) {
	root := (&cli{out: io.Discard, errOut: io.Discard}).root()
	for _, c := range []struct{ in, want string }{
		{"--help network create", "network create --help"},
		{"-h network create blue", "network create -h blue"},
		{"network --help create", "network create --help"},
		{"-o json network list", "network list -o json"},
		{"network -o json list", "network list -o json"},
		{"-ojson network list", "network list -ojson"},
		{"--output=yaml network list", "network list --output=yaml"},
		{"--socket /s -o json port --network list watch", "port watch --socket /s -o json --network list"},
		{"sg --log-drops set web", "sg set --log-drops web"},
		{"--subnet4 10.0.0.0/24 network create blue --mtu 1400", "network create --subnet4 10.0.0.0/24 blue --mtu 1400"},
		{"lb -o json member add web 80 p1", "lb member add -o json web 80 p1"},
		{"network create -- -o", "network create -- -o"},
		{"netwrk -o json list", "netwrk -o json list"},
		{"__complete network show ", "__complete network show "},
	} {
		got := strings.Join(commandFirst(root, strings.Split(c.in, " ")), " ")
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFlagsAnyPosition: help stands anywhere and is the command's help;
// a bad -o anywhere is the same usage error.
func TestFlagsAnyPosition(t *testing.T) {
	_, want, _ := qnetctl(t, "network", "create", "--help")
	for _, args := range [][]string{
		{"--help", "network", "create"}, {"network", "--help", "create"}, {"-h", "network", "create", "blue"},
		{"-o", "json", "--help", "network", "create"},
	} {
		if code, out, errOut := qnetctl(t, args...); code != 0 || out != want || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q, help:\n%.200s\nwant network create's", args, code, errOut, out)
		}
	}
	for _, args := range [][]string{{"-o", "xml", "network", "list"}, {"network", "-o", "xml", "list"}, {"network", "list", "-o", "xml"}} {
		if code, _, errOut := qnetctl(t, args...); code != 2 || !strings.Contains(errOut, `"xml" is not table`) {
			t.Errorf("%q: exit %d, %q", args, code, errOut)
		}
	}
}

// TestFlagArity: no two flags of the same name (or shorthand) disagree on
// whether they take a value, so commandFirst can tell a flag's value from
// a command word before it knows the command.
func TestFlagArity(t *testing.T) {
	root := (&cli{out: io.Discard, errOut: io.Discard}).root()
	valued := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			for _, n := range []string{"--" + f.Name, "-" + f.Shorthand} {
				if n == "-" {
					continue
				}
				v, seen := valued[n]
				if seen && v != (f.NoOptDefVal == "") {
					t.Errorf("%s: %s takes a value here but not elsewhere (or the reverse)", c.CommandPath(), n)
				}
				valued[n] = f.NoOptDefVal == ""
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if valued["-h"] {
		t.Errorf("-h takes a value somewhere: it is help everywhere")
	}
}
