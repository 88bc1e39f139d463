package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// forwarder answers the forward calls with a floating IP carrying the
// forward it got.
type forwarder struct {
	*apitest.Daemon
	got []proto.Message
}

func (f *forwarder) reply(q *api.FloatingIPForward) *api.FloatingIP {
	f.got = append(f.got, q)
	return &api.FloatingIP{Address: q.Address, Network: "ext", Router: "r1",
		Forwards: []*api.FloatingIPForward{{Address: q.Address, Protocol: "tcp", Port: 2222, Target: "p1", TargetPort: 22, TargetAddress: "10.0.1.10"}}}
}

func (f *forwarder) AddFloatingIPForward(_ context.Context, q *api.FloatingIPForward) (*api.FloatingIP, error) {
	return f.reply(q), nil
}

func (f *forwarder) DeleteFloatingIPForward(_ context.Context, q *api.FloatingIPForward) (*api.FloatingIP, error) {
	return f.reply(q), nil
}

func (f *forwarder) GetFloatingIP(_ context.Context, q *api.FloatingIPRef) (*api.FloatingIP, error) {
	f.got = append(f.got, q)
	return f.reply(&api.FloatingIPForward{Address: q.Address}), nil
}

// TestForwardCommands: fip forward add/delete/list send the daemon the
// right fields, flags anywhere; bad usage is exit 2.
func TestForwardCommands(t *testing.T) {
	sock := apitest.SocketPath(t)
	rec := &forwarder{Daemon: apitest.NewDaemon()}
	apitest.Serve(t, sock, rec)
	for _, c := range []struct {
		args []string
		want proto.Message
		out  string
	}{
		{[]string{"fip", "forward", "add", "192.0.2.50", "tcp", "2222", "p1", "22"},
			&api.FloatingIPForward{Address: "192.0.2.50", Protocol: "tcp", Port: 2222, Target: "p1", TargetPort: 22}, "10.0.1.10"},
		{[]string{"fip", "forward", "add", "--target-address", "10.0.1.10", "192.0.2.50", "udp", "53", "p1", "5353"},
			&api.FloatingIPForward{Address: "192.0.2.50", Protocol: "udp", Port: 53, Target: "p1", TargetPort: 5353, TargetAddress: "10.0.1.10"}, "added"},
		{[]string{"fip", "forward", "delete", "192.0.2.50", "tcp", "2222"},
			&api.FloatingIPForward{Address: "192.0.2.50", Protocol: "tcp", Port: 2222}, "deleted"},
		{[]string{"fip", "forward", "list", "192.0.2.50"}, &api.FloatingIPRef{Address: "192.0.2.50"}, "p1"},
	} {
		var out, errOut bytes.Buffer
		rec.got = nil
		if code := run(append([]string{"--socket", sock}, c.args...), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut.String())
		}
		if len(rec.got) == 0 || !proto.Equal(rec.got[0], c.want) {
			t.Fatalf("%v: daemon got %v, want %v", c.args, rec.got, c.want)
		}
		if !strings.Contains(out.String(), c.out) {
			t.Fatalf("%v: output %q lacks %q", c.args, out.String(), c.out)
		}
	}
	for _, bad := range [][]string{
		{"fip", "forward", "add", "192.0.2.50", "tcp", "2222", "p1"},
		{"fip", "forward", "add", "192.0.2.50", "tcp", "ssh", "p1", "22"},
		{"fip", "forward", "delete", "192.0.2.50", "tcp"},
		{"fip", "forward", "list"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"--socket", sock}, bad...), &out, &errOut); code != 2 {
			t.Fatalf("%v: exit %d, want 2 (usage): %s", bad, code, errOut.String())
		}
	}
}
