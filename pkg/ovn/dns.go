package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// DNS: a network's records for OVN native DNS, one row per network (its
// keys.ServiceOf), referred to by the network's switch.

// NetworkDNS returns the DNS row of network (a copy), nil if none.
func (c *NB) NetworkDNS(network string) *nbdb.DNS {
	return first(indexed(c, nbdb.DNSTable, &c.rows.dns, network, func(d *nbdb.DNS) bool { return d.ExternalIDs[keys.ServiceOf] == network }))
}

// InsertDNSOps inserts d (d.UUID: a named UUID the switch refers to in the
// same transaction), failing the transaction if a row with its external ids
// exists already.
func (c *NB) InsertDNSOps(d *nbdb.DNS) ([]ovsdb.Operation, error) {
	ops, err := c.Create(d)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{WaitNoRowWithIDs(nbdb.DNSTable, d.ExternalIDs)}, ops...), nil
}

// UpdateDNSRecordsOps rewrites the records of the DNS row d.UUID.
func (c *NB) UpdateDNSRecordsOps(d *nbdb.DNS) ([]ovsdb.Operation, error) {
	return c.UpdateOps(d, &d.Records)
}
