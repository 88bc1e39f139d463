package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// FloorAdd is the OVS/OVN floor of a CNI ADD: the work no plugin on OVN
// can skip, with nothing else. The logical port (called ifaceID) and the
// veth (hostIfname on the chassis host, its peer in the container) exist
// already, untimed; FloorAdd inserts the OVS Interface and Port of
// hostIfname with external_ids:iface-id=ifaceID (and ids, on both rows)
// into bridge in one libovsdb transaction and waits, on the client's
// monitor (no polling), for ovn-controller to mark the interface
// ovn-installed. It returns how long each took. It is the floor contender
// of test/bench/cniadd and test/bench/scale.
func FloorAdd(ctx context.Context, c *ovs.Client, bridge, hostIfname, ifaceID string, ids map[string]string) (insert, wait time.Duration, err error) {
	ifaceIDs := map[string]string{ovs.KeyIfaceID: ifaceID}
	for k, v := range ids {
		ifaceIDs[k] = v
	}
	t0 := time.Now()
	if err := c.AddPort(ctx, bridge, hostIfname, ifaceIDs, ids); err != nil {
		return 0, 0, fmt.Errorf("floor: add OVS port %s: %w", hostIfname, err)
	}
	t1 := time.Now()
	if err := c.WaitInstalled(ctx, hostIfname); err != nil {
		return t1.Sub(t0), 0, fmt.Errorf("floor: %w", err)
	}
	return t1.Sub(t0), time.Since(t1), nil
}

// FloorDel undoes FloorAdd (untimed): the OVS port goes, the veth and
// the logical port stay.
func FloorDel(ctx context.Context, c *ovs.Client, bridge, hostIfname string) error {
	return c.DeletePort(ctx, bridge, hostIfname)
}
