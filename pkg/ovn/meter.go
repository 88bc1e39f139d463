package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Meter: a rate limit ACLs name in their meter column (ovn-northd turns it
// into a Southbound Meter, ovn-controller into an OpenFlow meter on the
// controller action that carries a logged packet to its log). A Meter owns
// its Meter_Band rows: they are inserted with it and garbage-collected with
// it.

// MeterSpec is a meter with one drop band.
type MeterSpec struct {
	Name        string
	Unit        string // nbdb.MeterUnitPktps or nbdb.MeterUnitKbps
	Rate        int    // per second, in Unit
	Burst       int    // burst size, in packets or kilobits
	ExternalIDs map[string]string
}

// GetMeter returns the meter called name (a copy); ErrNotFound if there is
// none.
func (c *NB) GetMeter(name string) (*nbdb.Meter, error) {
	rows, err := ovs.Query(c.Conn, func(m *nbdb.Meter) bool { return m.Name == name })
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// InsertMeterOps inserts the meter m with its band, failing the
// transaction if a meter has its name already (two daemons creating it at
// once: the loser retries and finds it).
func (c *NB) InsertMeterOps(m MeterSpec) ([]ovsdb.Operation, error) {
	band := &nbdb.MeterBand{UUID: "meterband", Action: nbdb.MeterBandActionDrop, Rate: m.Rate, BurstSize: m.Burst,
		ExternalIDs: map[string]string{}}
	fair := false
	row := &nbdb.Meter{UUID: "meter", Name: m.Name, Unit: m.Unit, Bands: []string{band.UUID}, Fair: &fair,
		ExternalIDs: m.ExternalIDs}
	ops := []ovsdb.Operation{ovs.WaitNoRow(nbdb.MeterTable, "name", m.Name)}
	for _, r := range []model.Model{band, row} {
		o, err := c.Create(r)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// DeleteMeterOps deletes the meter uuid (its bands go with it).
func (c *NB) DeleteMeterOps(uuid string) ([]ovsdb.Operation, error) {
	return c.Where(&nbdb.Meter{UUID: uuid}).Delete()
}
