package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var daemonBin struct {
	once sync.Once
	dir  string
	err  error
}

// realDaemon builds quantumnetd once and starts it against a private
// Northbound ovsdb-server (no Southbound, no OVS: networks, addresses,
// security groups, routers, floating IPs and load balancers need only
// Northbound). It returns qnetctl bound to its socket.
func realDaemon(t *testing.T) func(args ...string) (int, string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no daemon")
	}
	nb := ovsdbtest.NewNB(t)
	daemonBin.once.Do(func() {
		daemonBin.dir, daemonBin.err = os.MkdirTemp("", "qnctlbin")
		if daemonBin.err == nil {
			daemonBin.err = harness.Build(daemonBin.dir, "quantumnetd")
		}
	})
	if daemonBin.err != nil {
		t.Fatal(daemonBin.err)
	}
	d := harness.LaunchDaemon(t, harness.DaemonConfig{Bin: daemonBin.dir, NB: nb.Remote, Chassis: "chassis-golden", LogLevel: "warn"})
	d.MustClient().Close()
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"--socket", d.ClientSocket}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
}

// unstable are the parts of an output that differ from run to run: row
// UUIDs, MAC addresses allocated at random, security-group rule ids.
var unstable = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "UUID"},
}

func stable(s string) string {
	for _, u := range unstable {
		s = u.re.ReplaceAllString(s, u.with)
	}
	return s
}

// TestIntegrationOutputGolden: against a real quantumnetd, the commands
// that make a network, an external network, a reservation, a security
// group, a router, a floating IP and a load balancer succeed, and every
// read command's output, as a table and as -o json and -o yaml, is the
// golden one: the field names are the API's (snake_case) and every field
// is there. JSON and YAML say the same.
func TestIntegrationOutputGolden(t *testing.T) {
	q := realDaemon(t)
	for _, args := range [][]string{
		{"network", "create", "blue", "--subnet4", "10.77.1.0/24", "--dns-domain", "blue.internal", "--exclude", "10.77.1.200"},
		{"network", "create", "ext", "--external", "--physnet", "physnet1", "--subnet4", "192.0.2.0/24", "--gateway4", "192.0.2.1",
			"--fip-range", "192.0.2.50-192.0.2.59"},
		{"ipam", "reserve", "blue", "--owner", "printer", "--address", "10.77.1.77", "--mac", "52:54:00:00:00:77"},
		{"sg", "create", "web", "--description", "front ends", "--rule", "ingress tcp 80 from 10.0.0.0/8"},
		{"router", "create", "r1"},
		{"router", "attach", "r1", "blue"},
		{"router", "route", "add", "r1", "192.168.10.0/24", "via", "10.77.1.254"},
		{"fip", "create", "ext", "--address", "192.0.2.50"},
		{"lb", "create", "web", "--network", "blue", "--vip", "10.77.1.100"},
		{"lb", "listener", "add", "web", "80", "--member-port", "8080"},
	} {
		if code, out, errOut := q(args...); code != 0 {
			t.Fatalf("qnetctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	for _, args := range [][]string{
		{"network", "list"}, {"network", "show", "blue"}, {"network", "show", "ext"}, {"ipam", "show", "blue"},
		{"sg", "list"}, {"sg", "show", "web"}, {"router", "list"}, {"router", "show", "r1"},
		{"fip", "list"}, {"fip", "show", "192.0.2.50"}, {"fip", "forward", "list", "192.0.2.50"},
		{"lb", "list"}, {"lb", "show", "web"}, {"port", "list", "--network", "blue"},
		{"topology"}, {"topology", "--network", "blue"}, {"bastion", "list"},
	} {
		name := strings.Join(args, "-")
		outs := map[string]string{}
		for _, f := range []string{"table", "json", "yaml"} {
			code, out, errOut := q(append(args, "-o", f)...)
			if code != 0 || errOut != "" {
				t.Fatalf("qnetctl %s -o %s: exit %d: %s", strings.Join(args, " "), f, code, errOut)
			}
			outs[f] = out
			golden(t, "output/"+name+"."+map[string]string{"table": "txt", "json": "json", "yaml": "yaml"}[f], stable(out))
		}
		j, err := yaml.YAMLToJSON([]byte(outs["yaml"]))
		if err != nil {
			t.Fatalf("%s -o yaml is not YAML: %v", name, err)
		}
		var fromJSON, fromYAML any
		if json.Unmarshal([]byte(outs["json"]), &fromJSON) != nil || json.Unmarshal(j, &fromYAML) != nil {
			t.Fatalf("%s: -o json or -o yaml does not decode", name)
		}
		if a, b := mustJSON(t, fromJSON), mustJSON(t, fromYAML); a != b {
			t.Errorf("%s: -o json and -o yaml differ:\n%s\n%s", name, a, b)
		}
	}
	completionAndVersion(t, q)
	// -o before, between or after the command words is the same output.
	_, want, _ := q("network", "list", "-o", "json")
	for _, args := range [][]string{{"-o", "json", "network", "list"}, {"network", "-o", "json", "list"}} {
		if code, out, errOut := q(args...); code != 0 || out != want {
			t.Errorf("qnetctl %s: exit %d %s, output differs from network list -o json:\n%s", strings.Join(args, " "), code, errOut, out)
		}
	}
	// The tests and scripts that read -o json find their fields.
	_, out, _ := q("-o", "json", "network", "show", "blue")
	var n struct {
		Name      string   `json:"name"`
		Subnet4   string   `json:"subnet4"`
		Resolvers []string `json:"resolvers"`
		Router    string   `json:"router"`
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil || n.Name != "blue" || n.Subnet4 != "10.77.1.0/24" || n.Router != "r1" {
		t.Errorf("network show -o json: %+v, %v", n, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// completionAndVersion: shell completion offers the daemon's objects;
// version shows the client's and the server's, in every format.
func completionAndVersion(t *testing.T, q func(args ...string) (int, string, string)) {
	t.Helper()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "show", ""}, "blue\next\n"},
		{[]string{"-o", "json", "network", "-o", "yaml", "show", ""}, "blue\next\n"},
		{[]string{"router", "attach", "r1", ""}, "blue\next\n"},
		{[]string{"sg", "set", ""}, "web\n"},
		{[]string{"fip", "forward", "list", ""}, "192.0.2.50\n"},
		{[]string{"port", "list", "--network", ""}, "blue\next\n"},
	} {
		if _, out, _ := q(append([]string{"__complete"}, c.args...)...); !strings.HasPrefix(out, c.want) {
			t.Errorf("completing %q: %q, want %q first", c.args, out, c.want)
		}
	}
	for _, f := range []string{"table", "json", "yaml"} {
		code, out, errOut := q("version", "-o", f)
		if code != 0 || errOut != "" {
			t.Fatalf("version -o %s: exit %d: %s", f, code, errOut)
		}
		golden(t, "output/version."+map[string]string{"table": "txt", "json": "json", "yaml": "yaml"}[f], out)
	}
}
