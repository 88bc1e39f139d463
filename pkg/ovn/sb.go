package ovn

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"sync"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// SB is the (read-only) Southbound client: chassis and port bindings.
type SB struct {
	*ovs.Conn

	smu  sync.RWMutex
	subs []func(table string, old, cur model.Model)
}

// Subscribe calls f for every change of a cached row (old nil: inserted,
// cur nil: deleted). f runs in the cache's goroutine: it must not block.
func (c *SB) Subscribe(f func(table string, old, cur model.Model)) {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.subs = append(c.subs, f)
}

func (c *SB) changed(table string, old, cur model.Model) {
	c.smu.RLock()
	defer c.smu.RUnlock()
	for _, f := range c.subs {
		f(table, old, cur)
	}
}

// PortBindingColumns are the Port_Binding columns its Southbound client
// monitors: those the daemon reads, and those of the table's indexes
// (datapath and tunnel_key: without them every row would clash with the
// first in the client's cache, which keeps the schema's indexes unique).
var PortBindingColumns = []string{"logical_port", "chassis", "options", "datapath", "tunnel_key"}

// NewSB dials the Southbound database.
func NewSB(ctx context.Context, remotes []string, tlsCfg *tls.Config, log *slog.Logger) (*SB, error) {
	dbm, err := sbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	sb := &SB{}
	c, err := ovs.Dial(ctx, dbm, ovs.DialConfig{
		Name: "sb", Remotes: remotes, TLS: tlsCfg, Logger: log, LeaderOnly: false,
		Tables: []model.Model{&sbdb.Chassis{}, &sbdb.PortBinding{}, &sbdb.ServiceMonitor{}},
		// A port binding is read for its chassis and options only; its other
		// columns (a copy of the port's external_ids among them) are most of
		// what a Southbound of many ports would send, decode and keep.
		Columns: map[string][]string{sbdb.PortBindingTable: PortBindingColumns},
		OnCache: func(tc *cache.TableCache) {
			tc.AddEventHandler(&cache.EventHandlerFuncs{
				AddFunc:    func(table string, m model.Model) { sb.changed(table, nil, m) },
				UpdateFunc: func(table string, old, m model.Model) { sb.changed(table, old, m) },
				DeleteFunc: func(table string, m model.Model) { sb.changed(table, m, nil) },
			})
		},
	})
	if err != nil {
		return nil, err
	}
	sb.Conn = c
	return sb, nil
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

// binding returns port's Port_Binding through the logical_port index
// (O(1); nil if none, or no cache yet). Like Query it reads the cache
// while Southbound is away (a stale binding to another chassis still
// protects a port from deletion).
func (c *SB) binding(port string) *sbdb.PortBinding {
	if c.CacheID(sbdb.PortBindingTable) == nil {
		return nil
	}
	pb := &sbdb.PortBinding{LogicalPort: port}
	if err := c.Get(context.Background(), pb); err != nil {
		return nil
	}
	return pb
}

// BoundChassis returns the name of the chassis port is bound to, or "".
func (c *SB) BoundChassis(port string) string {
	pb := c.binding(port)
	if pb == nil || pb.Chassis == nil {
		return ""
	}
	ch := &sbdb.Chassis{UUID: *pb.Chassis}
	if err := c.Get(context.Background(), ch); err != nil {
		return ""
	}
	return ch.Name
}

// PortOption returns an option of port's Port_Binding ("" if none).
func (c *SB) PortOption(port, key string) string {
	pb := c.binding(port)
	if pb == nil {
		return ""
	}
	return pb.Options[key]
}

// BridgeMappings are the physnets a chassis maps (ovn-bridge-mappings
// "physnet:bridge,..." in other_config, or external_ids on older OVN).
func BridgeMappings(ch *sbdb.Chassis) map[string]string {
	v := ch.OtherConfig["ovn-bridge-mappings"]
	if v == "" {
		v = ch.ExternalIDs["ovn-bridge-mappings"]
	}
	out := map[string]string{}
	for _, m := range strings.Split(v, ",") {
		phys, br, ok := strings.Cut(strings.TrimSpace(m), ":")
		if ok && phys != "" && br != "" {
			out[phys] = br
		}
	}
	return out
}

// ChassisWithPhysnet returns the names of the chassis that map physnet.
func (c *SB) ChassisWithPhysnet(physnet string) []string {
	chs, err := ovs.Query(c.Conn, func(ch *sbdb.Chassis) bool { return BridgeMappings(ch)[physnet] != "" })
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(chs))
	for _, ch := range chs {
		out = append(out, ch.Name)
	}
	return out
}

// HasPhysnet reports whether chassis maps physnet.
func (c *SB) HasPhysnet(chassis, physnet string) bool {
	ch, err := c.GetChassis(chassis)
	return err == nil && BridgeMappings(ch)[physnet] != ""
}

// ServiceMonitorStatus returns the status ovn-controller's service monitor
// reports for the backend ip:port probed through logical port lsp
// ("online", "offline", "error"; "" when there is no such row yet).
func (c *SB) ServiceMonitorStatus(lsp, ip string, port int) string {
	rows, err := ovs.Query(c.Conn, func(m *sbdb.ServiceMonitor) bool {
		return m.LogicalPort == lsp && m.IP == ip && m.Port == port
	})
	if err != nil || len(rows) == 0 || rows[0].Status == nil {
		return ""
	}
	return *rows[0].Status
}
