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

// logger answers SetSecurityGroupLogging with the group as set.
type logger struct {
	*apitest.Daemon
	got []proto.Message
}

func (l *logger) SetSecurityGroupLogging(_ context.Context, q *api.SecurityGroupLogging) (*api.SecurityGroup, error) {
	l.got = append(l.got, q)
	return &api.SecurityGroup{Name: q.Name, LogDrops: q.LogDrops, Acls: 2}, nil
}

// TestSGSetLogDrops: sg set NAME --log-drops|--no-log-drops sends the
// daemon the group and the switch (flags before or after the name), and
// shows the group with its "log drops" line; -o json has log_drops.
func TestSGSetLogDrops(t *testing.T) {
	sock := apitest.SocketPath(t)
	rec := &logger{Daemon: apitest.NewDaemon()}
	apitest.Serve(t, sock, rec)
	for _, c := range []struct {
		args []string
		want *api.SecurityGroupLogging
		out  string
	}{
		{[]string{"sg", "set", "web", "--log-drops"}, &api.SecurityGroupLogging{Name: "web", LogDrops: true}, "log drops:  yes"},
		{[]string{"sg", "set", "--no-log-drops", "web"}, &api.SecurityGroupLogging{Name: "web"}, "log drops:  no"},
		{[]string{"sg", "set", "web", "--log-drops", "-o", "json"}, &api.SecurityGroupLogging{Name: "web", LogDrops: true}, `"log_drops": true`},
	} {
		var out, errOut bytes.Buffer
		rec.got = nil
		if code := run(append([]string{"--socket", sock}, c.args...), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut.String())
		}
		if len(rec.got) != 1 || !proto.Equal(rec.got[0], c.want) {
			t.Fatalf("%v: daemon got %v, want %v", c.args, rec.got, c.want)
		}
		if !strings.Contains(out.String(), c.out) {
			t.Fatalf("%v: output %q lacks %q", c.args, out.String(), c.out)
		}
	}
}
