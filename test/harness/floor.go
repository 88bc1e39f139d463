package harness

import (
	"context"
	"fmt"

	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// FloorAdd is the OVS/OVN floor of a CNI ADD: the work no plugin on OVN
// can skip, with nothing else. The logical port (called ifaceID) and the
// veth (hostIfname on the chassis host, its peer in the container) exist
// already, untimed; FloorAdd inserts the OVS Interface and Port of
// hostIfname with external_ids:iface-id=ifaceID into bridge in one
// libovsdb transaction and waits, on the client's monitor (no polling),
// for ovn-controller to mark the interface ovn-installed. Time it as the
// floor contender of a benchmark (test/bench/cniadd, test/bench/scale).
func FloorAdd(ctx context.Context, c *ovs.Client, bridge, hostIfname, ifaceID string) error {
	if err := c.AddPort(ctx, bridge, hostIfname, map[string]string{ovs.KeyIfaceID: ifaceID}, nil); err != nil {
		return fmt.Errorf("floor: add OVS port %s: %w", hostIfname, err)
	}
	if err := c.WaitInstalled(ctx, hostIfname); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	return nil
}

// FloorDel undoes FloorAdd (untimed): the OVS port goes, the veth and
// the logical port stay.
func FloorDel(ctx context.Context, c *ovs.Client, bridge, hostIfname string) error {
	return c.DeletePort(ctx, bridge, hostIfname)
}
