package main

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestDelRecordsWhenUnreachable (defect 5): a DEL the daemon cannot take
// (socket gone; a stuck daemon that never answers the handshake) succeeds
// for the runtime and leaves a record for the daemon to finish.
func TestDelRecordsWhenUnreachable(t *testing.T) {
	dir := t.TempDir()
	stuck := filepath.Join(dir, "stuck.sock")
	lis, err := net.Listen("unix", stuck) // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	for name, socket := range map[string]string{"no daemon": filepath.Join(dir, "absent.sock"), "stuck daemon": stuck} {
		t.Run(name, func(t *testing.T) {
			pending := filepath.Join(t.TempDir(), "pending-del")
			conf := `{"cniVersion":"1.1.0","name":"qn","type":"quantumnet","network":"blue","timeout":"1s",` +
				`"socket":"` + socket + `","pendingDelDir":"` + pending + `"}`
			a := &skel.CmdArgs{ContainerID: "c1", IfName: "eth1", StdinData: []byte(conf)}
			t0 := time.Now()
			if err := cmdDel(a); err != nil {
				t.Fatalf("DEL = %v, want success (recorded)", err)
			}
			// The config's timeout bounds the wait for a stuck daemon
			// (go-plugin's own dial ignored it: 20 s).
			if d := time.Since(t0); d > 5*time.Second {
				t.Fatalf("DEL took %v with a timeout of 1s", d)
			}
			recs, err := api.ReadPendingDels(pending)
			if err != nil || len(recs) != 1 {
				t.Fatalf("pending DELs = %+v, %v; want one", recs, err)
			}
			if r := recs[0]; r.ContainerID != "c1" || r.Ifname != "eth1" || r.Network != "blue" || r.CNINetwork != "qn" {
				t.Fatalf("record = %+v", r)
			}
		})
	}
}
