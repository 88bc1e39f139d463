package ovn

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// DHCP_Options: a network's DHCPv4 and DHCPv6 rows (keys.KindDHCP,
// keys.KindDHCP6), found in O(1) through an index the cache keeps.

// NetworkDHCP returns the UUID of a network's DHCP options row of kind
// keys.KindDHCP or keys.KindDHCP6 ("" if none), in O(1): the DHCP_Options table also
// holds every address reservation, too many to scan on a port's creation.
func (c *NB) NetworkDHCP(network, kind string) string {
	c.dmu.RLock()
	defer c.dmu.RUnlock()
	return c.dhcp[network+"/"+kind]
}

// indexDHCP keeps the DHCP options index in step with the cache.
func (c *NB) indexDHCP(table string, old, cur model.Model) {
	if table != nbdb.DHCPOptionsTable {
		return
	}
	key := func(d *nbdb.DHCPOptions) string {
		if k := d.ExternalIDs[keys.Kind]; k == keys.KindDHCP || k == keys.KindDHCP6 {
			return d.ExternalIDs[keys.Network] + "/" + k
		}
		return ""
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if o, _ := old.(*nbdb.DHCPOptions); o != nil {
		if k := key(o); k != "" && c.dhcp[k] == o.UUID {
			delete(c.dhcp, k)
		}
	}
	if n, _ := cur.(*nbdb.DHCPOptions); n != nil {
		if k := key(n); k != "" {
			c.dhcp[k] = n.UUID
		}
	}
}

// DHCPv4 returns the network's DHCPv4 options row, creating it with opts
// (cidr and options) when there is none.
func (c *NB) DHCPv4(ctx context.Context, network, cidr string, opts map[string]string) (string, error) {
	find := func() (string, bool) {
		rows, err := ovs.Query(c.Conn, func(d *nbdb.DHCPOptions) bool {
			return d.ExternalIDs[keys.Kind] == keys.KindDHCP && d.ExternalIDs[keys.Network] == network && d.Cidr == cidr
		})
		if err != nil || len(rows) == 0 {
			return "", false
		}
		return rows[0].UUID, true
	}
	if u, ok := find(); ok {
		return u, nil
	}
	if err := c.Ready(); err != nil {
		return "", err
	}
	row := &nbdb.DHCPOptions{UUID: "dhcp", Cidr: cidr, Options: opts, ExternalIDs: map[string]string{keys.Network: network, keys.Kind: keys.KindDHCP}}
	ops, err := c.Create(row)
	if err != nil {
		return "", err
	}
	res, err := ovs.Transact(ctx, c.Conn, "create DHCP options of "+network, ops)
	if err != nil {
		return "", err
	}
	return res[0].UUID.GoUUID, nil
}

// NetworkDHCPRow returns the DHCP options row of network of kind
// keys.KindDHCP or keys.KindDHCP6 (a copy), nil if none.
func (c *NB) NetworkDHCPRow(network, kind string) *nbdb.DHCPOptions {
	if u := c.NetworkDHCP(network, kind); u != "" && c.cached() == nil { // O(1): the DHCP index
		if rc := c.table(nbdb.DHCPOptionsTable); rc != nil {
			if d, _ := rc.Row(u).(*nbdb.DHCPOptions); d != nil && d.ExternalIDs[keys.Kind] == kind && d.ExternalIDs[keys.Network] == network {
				return d
			}
		}
	}
	// None indexed (the index follows the cache's events, a moment
	// late): the scan says.
	return first(ovs.Query(c.Conn, func(d *nbdb.DHCPOptions) bool {
		return d.ExternalIDs[keys.Kind] == kind && d.ExternalIDs[keys.Network] == network
	}))
}

// InsertDHCPOptionsOps inserts d (d.UUID: a named UUID ports may refer to
// in the same transaction), failing the transaction if a row with its
// external ids exists already.
func (c *NB) InsertDHCPOptionsOps(d *nbdb.DHCPOptions) ([]ovsdb.Operation, error) {
	ops, err := c.Create(d)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{WaitNoRowWithIDs(nbdb.DHCPOptionsTable, d.ExternalIDs)}, ops...), nil
}

// UpdateDHCPOptionsOps rewrites the options and CIDR of the row d.UUID.
func (c *NB) UpdateDHCPOptionsOps(d *nbdb.DHCPOptions) ([]ovsdb.Operation, error) {
	return c.UpdateOps(d, &d.Options, &d.Cidr)
}

// DeleteDHCPOptionsOps deletes the row d.UUID.
func (c *NB) DeleteDHCPOptionsOps(d *nbdb.DHCPOptions) ([]ovsdb.Operation, error) {
	return c.DeleteOps(d)
}

// SetPortDHCPOps points the logical switch port lsp.UUID at the DHCPv4 and
// DHCPv6 rows v4 and v6 (UUIDs or named UUIDs; nil: none).
func (c *NB) SetPortDHCPOps(lsp *nbdb.LogicalSwitchPort, v4, v6 *string) ([]ovsdb.Operation, error) {
	lsp.Dhcpv4Options, lsp.Dhcpv6Options = v4, v6
	return c.UpdateOps(lsp, &lsp.Dhcpv4Options, &lsp.Dhcpv6Options)
}
