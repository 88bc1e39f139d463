package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/), REFERENCE.md and the README's command list")

// golden compares got with testdata/name, or writes it there under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./daemon/qnetctl -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./daemon/qnetctl -update rewrites it after a deliberate change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// qnetctl runs qnetctl with args on a socket nobody serves.
func qnetctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"--socket", filepath.Join(t.TempDir(), "none.sock")}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelpGolden: the help of the root and of some commands, as users see
// it with --help (exit 0, on stdout), wherever --help stands.
func TestHelpGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"root", []string{"--help"}},
		{"network-create", []string{"network", "create", "--help"}},
		{"network", []string{"network", "--help"}},
		{"port-watch", []string{"port", "watch", "-h"}},
		{"sg-set", []string{"sg", "set", "--help"}},
		{"trace", []string{"trace", "--help"}},
		{"lb-member-add", []string{"lb", "member", "add", "--help"}},
		{"fip-forward-add", []string{"fip", "forward", "add", "--help"}},
		{"router-set-gateway", []string{"help", "router", "set-gateway"}},
	} {
		code, out, errOut := qnetctl(t, c.args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", c.args, code, errOut)
		}
		golden(t, "help/"+c.name+".txt", out)
	}
	// --help among the command's arguments is the same help.
	_, a, _ := qnetctl(t, "network", "create", "--help")
	if _, b, _ := qnetctl(t, "network", "create", "blue", "--help", "--subnet4", "10.0.0.0/24"); a != b {
		t.Errorf("--help among the arguments gives another text:\n%s", b)
	}
}

// TestUsageErrors: a mistyped command or flag, a missing or extra argument
// or a bad -o is exit 2 with a message saying what is wrong (and a
// suggestion for a near miss), before anything is sent to the daemon.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netwrk", "list"}, "Did you mean this?\n\tnetwork"},
		{[]string{"network", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"lb", "membr", "add"}, "\tmember"},
		{[]string{"bogus"}, `unknown command "bogus" for "qnetctl"`},
		{[]string{"network", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"network", "create"}, "NAME required"},
		{[]string{"network", "show", "a", "b"}, `unexpected argument "b"`},
		{[]string{"network", "set", "blue"}, "nothing to change"},
		{[]string{"network", "create", "blue", "--mtu", "big"}, `invalid argument "big" for "--mtu"`},
		{[]string{"-o", "xml", "network", "list"}, `"xml" is not table, json or yaml`},
		{[]string{"network"}, "a subcommand is required"},
		{[]string{}, "a subcommand is required"},
		{[]string{"ipam", "reserve", "blue"}, "--owner is required"},
		{[]string{"sg", "set", "web"}, "--log-drops or --no-log-drops"},
		{[]string{"sg", "set", "web", "--log-drops", "--no-log-drops"}, "--log-drops or --no-log-drops"},
		{[]string{"sg", "rule", "add", "web"}, "GROUP and a RULE are required"},
		{[]string{"router", "route", "add", "r1", "10.1.0.0/16", "10.0.0.1"}, "ROUTER CIDR via IP required"},
		{[]string{"trace", "p1"}, "PORT and DST are required"},
		{[]string{"trace", "p1", "10.0.0.1", "tcp", "http"}, `DPORT "http" is not a port number`},
		{[]string{"lb", "set", "web"}, "nothing to set"},
		{[]string{"lb", "listener", "add", "web", "0"}, "not a port number"},
		{[]string{"port", "set-security-groups"}, "PORT is required"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"events", "--kind", "routers"}, `--kind "routers" is not one of port, network`},
	} {
		code, out, errOut := qnetctl(t, c.args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage); stderr %q", c.args, code, errOut)
		}
		if !strings.Contains(errOut, c.want) {
			t.Errorf("%q: stderr %q lacks %q", c.args, errOut, c.want)
		}
		if strings.Contains(errOut, "quantumnetd is not reachable") || out != "" {
			t.Errorf("%q: a usage error reached for the daemon or printed on stdout: %q %q", c.args, out, errOut)
		}
	}
}

// TestUnreachable: a command the daemon cannot answer is exit 1 (not a
// usage error) saying so; version still works (exit 0), with the client's
// version and why the server's is missing, in every format.
func TestUnreachable(t *testing.T) {
	if code, _, errOut := qnetctl(t, "network", "list", "-o", "json"); code != 1 || !strings.Contains(errOut, "not reachable") {
		t.Errorf("network list on no daemon: exit %d, %q; want 1, not reachable", code, errOut)
	}
	for _, f := range []string{"table", "json", "yaml"} {
		code, out, errOut := qnetctl(t, "version", "-o", f)
		if code != 0 || !strings.Contains(out, "dev") || !strings.Contains(out, "not reachable") || errOut != "" {
			t.Errorf("version -o %s without a daemon: exit %d, %q, %q", f, code, out, errOut)
		}
	}
}

// kindWords is how the root help names each error kind of errs.Kinds.
var kindWords = map[error]string{
	errs.Invalid: "invalid argument", errs.NotFound: "not found", errs.Conflict: "conflict", errs.Exhausted: "exhausted",
	errs.InUse: "in use", errs.Unavailable: "unavailable", errs.Timeout: "timed out",
}

// TestExitCodesDocumented: the exit codes the root help (and so the
// reference) lists are the ones qnetctl returns: every error kind is
// named under the code rpcclient.CLIExit gives it, and 2 is usage.
func TestExitCodesDocumented(t *testing.T) {
	sections := map[int]string{}
	re := regexp.MustCompile(`(?m)^  (\d)  ((?:.*\n?)(?:     .*\n?)*)`)
	for _, m := range re.FindAllStringSubmatch(exitCodes, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		sections[n] = strings.Join(strings.Fields(m[2]), " ")
	}
	if len(sections) != 3 || !strings.Contains(sections[2], "usage") || !strings.Contains(sections[0], "success") {
		t.Fatalf("exit codes parsed as %v", sections)
	}
	for _, k := range errs.Kinds {
		w, ok := kindWords[k]
		if !ok {
			t.Errorf("error kind %v is new: name it in exitCodes and kindWords", k)
			continue
		}
		code := rpcclient.CLIExit(fmt.Errorf("x: %w", k))
		if !strings.Contains(sections[code], w) {
			t.Errorf("kind %v exits %d, but the help names %q under %d: %q", k, code, w, code, sections[code])
		}
	}
	_, out, _ := qnetctl(t, "--help")
	if !strings.Contains(out, exitCodes) {
		t.Error("the root help lacks the exit codes")
	}
}

const (
	readmeBegin = "<!-- qnetctl reference begin -->\n"
	readmeEnd   = "<!-- qnetctl reference end -->"
)

// TestReferenceCurrent: REFERENCE.md and the README's command list are
// what gen-docs makes of the commands now (they cannot drift), and they
// cover every command (port show too).
func TestReferenceCurrent(t *testing.T) {
	code, ref, errOut := qnetctl(t, "gen-docs", "-")
	if code != 0 {
		t.Fatalf("gen-docs: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"## qnetctl port show", "## qnetctl sg set", "## qnetctl fip forward add", "## qnetctl completion bash", "Exit codes:"} {
		if !strings.Contains(ref, want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
	if strings.Contains(ref, "gen-docs") && strings.Contains(ref, "## qnetctl gen-docs") {
		t.Error("the reference lists the hidden gen-docs")
	}
	index := readmeIndex(c0().root())
	if !strings.Contains(index, "`qnetctl port show PORT`") {
		t.Errorf("the README index lacks port show:\n%s", index)
	}
	readmePath := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	b, e := strings.Index(string(readme), readmeBegin), strings.Index(string(readme), readmeEnd)
	if b < 0 || e < b {
		t.Fatalf("README.md lacks the markers %q ... %q", readmeBegin, readmeEnd)
	}
	newReadme := string(readme[:b+len(readmeBegin)]) + index + string(readme[e:])
	if *update {
		if err := os.WriteFile("REFERENCE.md", []byte(ref), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(readmePath, []byte(newReadme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if committed, err := os.ReadFile("REFERENCE.md"); err != nil || string(committed) != ref {
		t.Errorf("daemon/qnetctl/REFERENCE.md is not what gen-docs writes now (%v): go test ./daemon/qnetctl -run TestReferenceCurrent -update", err)
	}
	if newReadme != string(readme) {
		t.Errorf("README.md's qnetctl command list is not what the commands say now: go test ./daemon/qnetctl -run TestReferenceCurrent -update")
	}
}

// c0 is a cli writing nowhere.
func c0() *cli { return &cli{out: &bytes.Buffer{}, errOut: &bytes.Buffer{}} }

// TestGenMan: gen-man writes a man page per command, named as packagers
// expect.
func TestGenMan(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := qnetctl(t, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d: %s", code, errOut)
	}
	for _, f := range []string{"qnetctl.1", "qnetctl-network-create.1", "qnetctl-port-show.1", "qnetctl-sg-set.1"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte(".TH")) {
			t.Errorf("%s: %v (a man page?)", f, err)
		}
	}
}

// TestCompletion: completion scripts for the shells packages install.
func TestCompletion(t *testing.T) {
	for sh, want := range map[string]string{"bash": "__start_qnetctl", "zsh": "#compdef qnetctl", "fish": "complete -c qnetctl"} {
		code, out, errOut := qnetctl(t, "completion", sh)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %q lacks %q", sh, code, errOut, want)
		}
	}
}

// TestCompletionKinds: every command argKinds names exists (a renamed
// command cannot keep a dead entry), and fixed vocabularies complete
// without a daemon.
func TestCompletionKinds(t *testing.T) {
	have := map[string]bool{}
	for _, cmd := range commands(c0().root()) {
		have[strings.TrimPrefix(cmd.CommandPath(), "qnetctl ")] = true
	}
	for path := range argKinds {
		if !have[path] {
			t.Errorf("argKinds names %q, which is no command", path)
		}
	}
	code, out, _ := qnetctl(t, "__complete", "sg", "preset", "add", "web", "")
	if code != 0 || !strings.Contains(out, "database\n") {
		t.Errorf("completing a preset: exit %d, %q", code, out)
	}
	if _, out, _ := qnetctl(t, "__complete", "network", "list", "-o", ""); !strings.Contains(out, "yaml\n") {
		t.Errorf("completing -o: %q", out)
	}
}
