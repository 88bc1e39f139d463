package ovn

import (
	"context"
	"crypto/tls"
	"log/slog"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// SB is the (read-only) Southbound client: chassis and port bindings.
type SB struct {
	*ovs.Conn
}

// NewSB dials the Southbound database.
func NewSB(ctx context.Context, remotes []string, tlsCfg *tls.Config, log *slog.Logger) (*SB, error) {
	dbm, err := sbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	c, err := ovs.Dial(ctx, dbm, ovs.DialConfig{
		Name: "sb", Remotes: remotes, TLS: tlsCfg, Logger: log, LeaderOnly: false,
		Tables: []model.Model{&sbdb.Chassis{}, &sbdb.PortBinding{}},
	})
	if err != nil {
		return nil, err
	}
	return &SB{Conn: c}, nil
}

// ChassisRegistered reports whether ovn-controller registered chassis name.
func (c *SB) ChassisRegistered(name string) bool {
	_, err := c.GetChassis(name)
	return err == nil
}

// GetChassis returns the Chassis row called name.
func (c *SB) GetChassis(name string) (*sbdb.Chassis, error) {
	rows, err := ovs.Query(c.Conn, func(ch *sbdb.Chassis) bool { return ch.Name == name })
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// BoundChassis returns the name of the chassis port is bound to, or "".
func (c *SB) BoundChassis(port string) string {
	pbs, err := ovs.Query(c.Conn, func(pb *sbdb.PortBinding) bool { return pb.LogicalPort == port })
	if err != nil || len(pbs) == 0 || pbs[0].Chassis == nil {
		return ""
	}
	id := *pbs[0].Chassis
	chs, err := ovs.Query(c.Conn, func(ch *sbdb.Chassis) bool { return ch.UUID == id })
	if err != nil || len(chs) == 0 {
		return ""
	}
	return chs[0].Name
}

// PortOption returns an option of port's Port_Binding ("" if none).
func (c *SB) PortOption(port, key string) string {
	pbs, err := ovs.Query(c.Conn, func(pb *sbdb.PortBinding) bool { return pb.LogicalPort == port })
	if err != nil || len(pbs) == 0 {
		return ""
	}
	return pbs[0].Options[key]
}
