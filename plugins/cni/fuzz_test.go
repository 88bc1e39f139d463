package main

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// FuzzConfig: any stdin either is refused with a CNI error or parses to a
// config that names its version (and network, for ADD) and whose request
// carries the config's network. (NetConf is not marshalled back: the
// embedded PluginConf's MarshalJSON would drop our fields.)
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"cniVersion":"1.1.0","name":"n","type":"quantumnet","network":"blue","timeout":"10s"}`), true)
	f.Add([]byte(`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["web"],"runtimeConfig":{"ips":["10.0.0.5/24"],"mac":"0a:51:4e:00:00:01"},"args":{"cni":{"ips":["10.0.0.6"],"name":"pod"}}}`), true)
	f.Add([]byte(`{"cniVersion":"0.4.0","name":"n"}`), false)
	f.Add([]byte(`{"cniVersion":"1.1.0","network":"blue","timeout":"x"}`), true)
	f.Add([]byte(`{"cniVersion":`), true)
	f.Fuzz(func(t *testing.T, stdin []byte, needNetwork bool) {
		c, err := parse(stdin, needNetwork)
		if err != nil {
			if _, ok := err.(*types.Error); !ok {
				t.Fatalf("parse: %T %v is not a CNI error", err, err)
			}
			return
		}
		if c.CNIVersion == "" || needNetwork && c.Network == "" {
			t.Fatalf("parse(%s) accepted %+v", stdin, c)
		}
		r := build(&skel.CmdArgs{ContainerID: "c1", IfName: "eth0"}, c, &cniArgs{})
		if r.Network != c.Network || r.CniNetworkName != c.Name {
			t.Fatalf("request %v from config %+v", r, c)
		}
		// DEL and GC need no network: what ADD accepts, they accept too.
		if back, err := parse(stdin, false); err != nil || back.Network != c.Network || back.Timeout != c.Timeout {
			t.Fatalf("parse(%s, false) = %+v, %v; want %+v", stdin, back, err, c)
		}
	})
}

// FuzzArgs: any CNI_ARGS is refused with a CNI error or gives a request
// whose groups and addresses come from it or the config.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{"IP=10.0.0.5;MAC=0a:51:4e:00:00:01;SECURITY_GROUPS=web,ssh;NAME=db", "K8S_POD_NAME=web-0;IgnoreUnknown=1",
		"IgnoreUnknown=false;FOO=bar", "IP=", "=", ";;", "SECURITY_GROUPS=", "MAC=x=y"} {
		f.Add(s)
	}
	c := &NetConf{Network: "blue", SecurityGroups: []string{"default"}}
	c.RuntimeConfig.IPs = []string{"10.0.0.9"}
	f.Fuzz(func(t *testing.T, args string) {
		r, err := request(&skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Args: args}, c)
		if err != nil {
			if e, ok := err.(*types.Error); !ok || e.Code != types.ErrInvalidEnvironmentVariables {
				t.Fatalf("request(%q): %v is not an invalid-environment CNI error", args, err)
			}
			return
		}
		if r.ContainerId != "c1" || r.Ifname != "eth0" || r.Network != "blue" || len(r.Ips) == 0 || r.Ips[0] != "10.0.0.9" {
			t.Fatalf("request(%q) = %v", args, r)
		}
		if !strings.Contains(args, "SECURITY_GROUPS=") && !slices.Equal(r.SecurityGroups, c.SecurityGroups) {
			t.Fatalf("request(%q): groups %q, want the config's", args, r.SecurityGroups)
		}
	})
}

// FuzzPrevResult: any prevResult is refused with a CNI error or gives
// addresses that are CIDRs.
func FuzzPrevResult(f *testing.F) {
	f.Add([]byte(`{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1"}]}`), "1.1.0")
	f.Add([]byte(`{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.5/24"},{"version":"6","address":"fd00::5/64"}]}`), "0.4.0")
	f.Add([]byte(`{"cniVersion":"0.3.1","ips":[{"address":"x"}]}`), "0.3.1")
	f.Add([]byte(`{"ips":null}`), "1.0.0")
	f.Add([]byte(`[]`), "0.2.0")
	f.Fuzz(func(t *testing.T, prev []byte, version string) {
		if !json.Valid(prev) {
			return
		}
		stdin, _ := json.Marshal(map[string]any{"cniVersion": version, "name": "n", "network": "blue", "prevResult": json.RawMessage(prev)})
		c, err := parse(stdin, true)
		if err != nil || c.RawPrevResult == nil {
			return
		}
		ips, err := prevIPs(c)
		if err != nil {
			if _, ok := err.(*types.Error); !ok {
				t.Fatalf("prevIPs: %T %v is not a CNI error", err, err)
			}
			return
		}
		for _, ip := range ips {
			if _, _, err := net.ParseCIDR(ip); err != nil {
				t.Fatalf("prevResult %s gives address %q: %v", prev, ip, err)
			}
		}
	})
}
