package main

import (
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/quantumnet/quantumnet/pkg/api"
)

func mustRequest(t *testing.T, a *skel.CmdArgs, c *NetConf) *api.CNIRequest {
	t.Helper()
	r, err := request(a, c)
	if err != nil {
		t.Fatalf("request(CNI_ARGS %q): %v", a.Args, err)
	}
	return r
}

func TestParseNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code uint
		msg  string
	}{
		{`{"cniVersion":"1.1.0","name":"n","type":"quantumnet"}`, types.ErrInvalidNetworkConfig, "network: required"},
		{`{"name":"n","type":"quantumnet","network":"blue"}`, types.ErrInvalidNetworkConfig, "cniVersion"},
		{`{"cniVersion":"1.1.0","network":"blue","timeout":"x"}`, types.ErrInvalidNetworkConfig, "timeout"},
		{`{"cniVersion":`, types.ErrDecodingFailure, "malformed JSON"},
	} {
		_, err := parse([]byte(tc.in), true)
		e, ok := err.(*types.Error)
		if !ok || e.Code != tc.code || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("parse(%s) = %v, want code %d with %q", tc.in, err, tc.code, tc.msg)
		}
	}
	if _, err := parse([]byte(`{"cniVersion":"1.1.0","name":"n"}`), false); err != nil {
		t.Errorf("DEL without network: %v", err)
	}
}

func TestRequestCollectsIPsAndMAC(t *testing.T) {
	c, err := parse([]byte(`{"cniVersion":"1.1.0","name":"n","network":"blue","runtimeConfig":{"ips":["10.0.0.5/24"],"mac":"0a:51:4e:00:00:01"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Netns: "/x", Args: "IgnoreUnknown=1;IP=fd00::5"}, c)
	if r.Network != "blue" || r.CniNetworkName != "n" || r.Mac != "0a:51:4e:00:00:01" || strings.Join(r.Ips, ",") != "10.0.0.5/24,fd00::5" {
		t.Fatalf("request = %+v", r)
	}
}

func TestRequestSecurityGroups(t *testing.T) {
	for _, tc := range []struct {
		conf, args, want string
	}{
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "", ""},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["web","ssh"]}`, "", "web,ssh"},
		// The container's args replace the config's groups.
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["web"],"args":{"cni":{"securityGroups":["db"]}}}`, "", "db"},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["web"],"args":{"cni":{"securityGroups":["db"]}}}`, "IgnoreUnknown=1;SECURITY_GROUPS=a,b", "a,b"},
	} {
		c, err := parse([]byte(tc.conf), true)
		if err != nil {
			t.Fatal(err)
		}
		r := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Netns: "/x", Args: tc.args}, c)
		if got := strings.Join(r.SecurityGroups, ","); got != tc.want {
			t.Errorf("%s + %q: security groups %q, want %q", tc.conf, tc.args, got, tc.want)
		}
	}
}

func TestRequestName(t *testing.T) {
	for _, tc := range []struct {
		conf, args, want string
	}{
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "", ""},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=web-0", "web-0"},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "K8S_POD_NAME=web-0;NAME=front", "front"},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","args":{"cni":{"name":"db"}}}`, "NAME=front;K8S_POD_NAME=web-0", "db"},
	} {
		c, err := parse([]byte(tc.conf), true)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Args: tc.args}, c).Name; got != tc.want {
			t.Errorf("%s + %q: name %q, want %q", tc.conf, tc.args, got, tc.want)
		}
	}
}

// CNI_ARGS: the keys read, the precedence of the config, unknown keys
// ignored even without IgnoreUnknown, and malformed CNI_ARGS refused with
// code 4.
func TestRequestCNIArgs(t *testing.T) {
	c, err := parse([]byte(`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["web"]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0",
		Args: "K8S_POD_NAMESPACE=x;IP=10.0.0.5,fd00::5;MAC=0a:51:4e:00:00:02;SECURITY_GROUPS=db;K8S_POD_NAME=web-0"}, c)
	if strings.Join(r.Ips, ",") != "10.0.0.5,fd00::5" || r.Mac != "0a:51:4e:00:00:02" || strings.Join(r.SecurityGroups, ",") != "db" || r.Name != "web-0" {
		t.Fatalf("request = %+v", r)
	}
	// The config's MAC and addresses come first.
	c, err = parse([]byte(`{"cniVersion":"1.1.0","name":"n","network":"blue","runtimeConfig":{"ips":["10.0.0.7/24"],"mac":"0a:51:4e:00:00:01"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r = mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Args: "MAC=0a:51:4e:00:00:02;IP=10.0.0.8"}, c)
	if r.Mac != "0a:51:4e:00:00:01" || strings.Join(r.Ips, ",") != "10.0.0.7/24,10.0.0.8" {
		t.Fatalf("request = %+v", r)
	}
	for _, args := range []string{"IP", "NAME=a=b", "IgnoreUnknown=0;FOO=1", "IgnoreUnknown=maybe"} {
		_, err := request(&skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Args: args}, c)
		e, ok := err.(*types.Error)
		if !ok || e.Code != types.ErrInvalidEnvironmentVariables || !strings.HasPrefix(e.Msg, "CNI_ARGS: ") {
			t.Errorf("request(CNI_ARGS %q) = %v, want a code 4 error about CNI_ARGS", args, err)
		}
	}
}

func TestRequestPortMappings(t *testing.T) {
	c, err := parse([]byte(`{"cniVersion":"1.1.0","name":"n","network":"blue","runtimeConfig":{"portMappings":[
		{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
		{"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"10.0.0.1"},
		{"hostPort":-1,"containerPort":70000}]}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Netns: "/x"}, c)
	if len(r.PortMappings) != 3 {
		t.Fatalf("mappings %v", r.PortMappings)
	}
	m0, m1, m2 := r.PortMappings[0], r.PortMappings[1], r.PortMappings[2]
	if m0.HostPort != 8080 || m0.ContainerPort != 80 || m0.Protocol != "tcp" || m1.HostIp != "10.0.0.1" || m1.Protocol != "udp" {
		t.Fatalf("mappings %v", r.PortMappings)
	}
	// Out of range values reach the daemon out of range (it refuses them
	// naming the field), never wrapped into range.
	if m2.HostPort <= 65535 || m2.ContainerPort <= 65535 {
		t.Fatalf("out of range ports became %d, %d", m2.HostPort, m2.ContainerPort)
	}
}

func TestRequestLoadBalancers(t *testing.T) {
	for _, tc := range []struct {
		conf, args, want string
	}{
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "", ""},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","loadBalancers":["web","api"]}`, "", "web,api"},
		// The container's args replace the config's load balancers.
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","loadBalancers":["web"],"args":{"cni":{"loadBalancers":["api"]}}}`, "", "api"},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","loadBalancers":["web"],"args":{"cni":{"loadBalancers":["api"]}}}`, "IgnoreUnknown=1;LOAD_BALANCERS=a,b", "a,b"},
		{`{"cniVersion":"1.1.0","name":"n","network":"blue"}`, "LOAD_BALANCERS=web", "web"},
		// Security groups and load balancers do not mix.
		{`{"cniVersion":"1.1.0","name":"n","network":"blue","securityGroups":["sg"]}`, "SECURITY_GROUPS=x", ""},
	} {
		c, err := parse([]byte(tc.conf), true)
		if err != nil {
			t.Fatal(err)
		}
		r := mustRequest(t, &skel.CmdArgs{ContainerID: "c1", IfName: "eth0", Netns: "/x", Args: tc.args}, c)
		if got := strings.Join(r.LoadBalancers, ","); got != tc.want {
			t.Errorf("%s + %q: load balancers %q, want %q", tc.conf, tc.args, got, tc.want)
		}
	}
}
