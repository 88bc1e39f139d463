package lport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// barrier holds each daemon's port transaction, after its allocation
// checked the MAC against its own cache, until both got there: both
// decide from a cache that does not have the other's port.
type barrier struct {
	wg *sync.WaitGroup
}

func (b barrier) PortOps(*nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	b.wg.Done()
	b.wg.Wait()
	return nil, nil
}

// TestIntegrationMACRace: two daemons (two Northbound connections) create
// ports with the same requested MAC on different networks at the same
// moment: exactly one wins, the other gets a conflict naming the MAC.
func TestIntegrationMACRace(t *testing.T) {
	blue, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.9.0.0/24"})
	red, _ := network.Parse(network.Input{Name: "red", Subnet4: "10.8.0.0/24"})
	nbA, srv := ovntest.NewNB(t, ovntest.Switch("blue", blue.ExternalIDs()), ovntest.Switch("red", red.ExternalIDs()))
	nbB := ovntest.DialNB(t, srv)
	ovntest.WaitSwitch(t, nbB, "red")
	ctx := context.Background()
	log := ovsdbtest.Logger(t)
	daemon := func(nb *ovn.NB, wg *sync.WaitGroup) *Ports {
		return &Ports{NB: nb, Store: &nbstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}, Groups: barrier{wg}}
	}
	for round := range 5 {
		mac := net.HardwareAddr{0x0a, 0x51, 0x4e, 0, 0, byte(round + 1)}
		var wg, done sync.WaitGroup
		wg.Add(2)
		errc := make([]error, 2)
		for i, d := range []struct {
			ps  *Ports
			net string
		}{{daemon(nbA, &wg), "blue"}, {daemon(nbB, &wg), "red"}} {
			done.Add(1)
			go func() {
				defer done.Done()
				p := ovn.Port{Name: fmt.Sprintf("p%d-%s", round, d.net), Network: d.net, Kind: keys.KindContainer,
					ContainerID: fmt.Sprintf("c%d%d", round, i), Ifname: "eth0"}
				_, errc[i] = d.ps.Create(ctx, p, nbstore.Want{MAC: mac})
			}()
		}
		done.Wait()
		won := 0
		for _, err := range errc {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errs.Conflict):
				t.Errorf("round %d: the loser's error %v, want a conflict", round, err)
			}
		}
		rows := srv.Rows("Logical_Switch_Port", []string{"name", "addresses"})
		if won != 1 {
			t.Errorf("round %d: %d of 2 daemons created a port with MAC %s (errors %v, rows %v), want exactly 1", round, won, mac, errc, rows)
		}
	}
}
