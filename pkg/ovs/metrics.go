package ovs

import (
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/prometheus/client_golang/prometheus"
)

// MetricsRegistry, when set before Dial (the daemon's main does, with its
// HTTP listener on), receives libovsdb's own client metrics of every
// connection dialled afterwards, labelled db=<DialConfig.Name>:
// quantumnet_ovsdb_disconnects_total (each disconnect is followed by a
// redial: the reconnect count), quantumnet_ovsdb_monitors,
// quantumnet_ovsdb_update_messages_total and
// quantumnet_ovsdb_table_updates_total.
// Each Name may be dialled once per registry.
var MetricsRegistry prometheus.Registerer

func metricsOptions(name string) []client.Option {
	if MetricsRegistry == nil {
		return nil
	}
	r := prometheus.WrapRegistererWith(prometheus.Labels{"db": name}, MetricsRegistry)
	return []client.Option{client.WithMetricsRegistryNamespaceSubsystem(r, "quantumnet", "ovsdb")}
}
