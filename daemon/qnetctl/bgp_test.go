package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// bgpDaemon answers GetBGP with st.
type bgpDaemon struct {
	*apitest.Daemon
	st *api.BGPStatus
}

func (d *bgpDaemon) GetBGP(context.Context, *api.Empty) (*api.BGPStatus, error) { return d.st, nil }

// TestBGPShow: `bgp show` prints the neighbours and the announced routes
// with why, says when the speaker is off, and -o json carries the fields;
// an extra argument is a usage error.
func TestBGPShow(t *testing.T) {
	sock := apitest.SocketPath(t)
	d := &bgpDaemon{Daemon: apitest.NewDaemon(), st: &api.BGPStatus{Enabled: true, Asn: 65001, RouterId: "192.0.2.21",
		Neighbors: []*api.BGPNeighbor{{Address: "192.0.2.10", Asn: 65000, State: "established", UptimeSeconds: 42, Advertised: 1}},
		Announced: []*api.BGPRoute{{Prefix: "192.0.2.50/32", NextHop: "192.0.2.21", Kind: "fip", Reason: "floating IP 192.0.2.50 of port p1, distributed here"}}}}
	apitest.Serve(t, sock, d)
	show := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"--socket", sock, "bgp", "show"}, args...), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	out, code := show()
	for _, w := range []string{"AS 65001, router id 192.0.2.21", "192.0.2.10  65000  established  42s", "192.0.2.50/32  192.0.2.21  fip", "distributed here"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("bgp show: exit %d, no %q in:\n%s", code, w, out)
		}
	}
	if out, code = show("-o", "json"); code != 0 || !strings.Contains(out, `"next_hop": "192.0.2.21"`) {
		t.Errorf("bgp show -o json: exit %d:\n%s", code, out)
	}
	if _, code = show("extra"); code != 2 {
		t.Errorf("bgp show extra: exit %d, want 2", code)
	}
	d.st = &api.BGPStatus{}
	if out, code = show(); code != 0 || !strings.Contains(out, "bgp: off") {
		t.Errorf("bgp show without a speaker: exit %d:\n%s", code, out)
	}
}
