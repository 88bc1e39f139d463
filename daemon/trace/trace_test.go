package trace

import (
	"net/netip"
	"slices"
	"testing"
)

func TestMicroflow(t *testing.T) {
	p := Packet{InPort: "p1", SrcMAC: "0a:00:00:00:00:01", DstMAC: "0a:00:00:00:00:02",
		Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.3"), Protocol: "tcp", DPort: 22}
	want := `inport == "p1" && eth.src == 0a:00:00:00:00:01 && eth.dst == 0a:00:00:00:00:02 && ip4.src == 10.0.0.2 && ` +
		`ip4.dst == 10.0.0.3 && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == 22 && tcp.flags == 0x002`
	if got := p.Microflow(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	p.Protocol, p.Src, p.Dst = "icmp", netip.MustParseAddr("fd00::2"), netip.MustParseAddr("fd00::3")
	want = `inport == "p1" && eth.src == 0a:00:00:00:00:01 && eth.dst == 0a:00:00:00:00:02 && ip6.src == fd00::2 && ` +
		`ip6.dst == fd00::3 && ip.ttl == 64 && icmp6 && icmp6.type == 128 && icmp6.code == 0`
	if got := p.Microflow(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestArgs: ovn-trace reads the daemon's Southbound, with its TLS files.
func TestArgs(t *testing.T) {
	tr := &Tracer{SBRemotes: []string{"ssl:10.0.0.1:6642", "ssl:10.0.0.2:6642"}, SSLKey: "k", SSLCert: "c", SSLCA: "ca"}
	args := tr.Args("M")
	for _, want := range []string{"--detailed", "--db=ssl:10.0.0.1:6642,ssl:10.0.0.2:6642", "--private-key=k", "--certificate=c", "--ca-cert=ca", "--ct=new,trk"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if args[len(args)-1] != "M" {
		t.Errorf("the microflow is not last: %v", args)
	}
}

// TestResolveInvalid: bad requests name the field before anything is read.
func TestResolveInvalid(t *testing.T) {
	tr := &Tracer{}
	for _, req := range []Request{
		{Port: "p", Destination: "10.0.0.1", Protocol: "sctp"},
		{Port: "p", Destination: "10.0.0.1", Protocol: "tcp"},
		{Port: "p", Destination: "10.0.0.1", Protocol: "icmp", DPort: 3},
		{Port: "p", Destination: "nowhere"},
		{Destination: "10.0.0.1"},
	} {
		if _, err := tr.Resolve(req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
}
