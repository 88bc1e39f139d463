package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Sources are what the daemon reads at scrape time (never per event): the
// address pools, this chassis' ports and the database connections. A nil
// function is left out.
type Sources struct {
	// IPAM returns every network's pools.
	IPAM func() []Pool
	// Ports returns this chassis' logical ports.
	Ports func() []PortState
	// Connected maps a database ("nb", "sb", "ovs") to whether the daemon
	// is connected to it (its cache filled).
	Connected map[string]func() bool
}

// Pool is one subnet of a network's IPAM.
type Pool struct {
	Network, Subnet string
	Used, Free      uint64
}

// PortState is one logical port's kind (container, vm, ...) and whether
// ovn-controller reports it up.
type PortState struct {
	Kind string
	Up   bool
}

var (
	usedDesc = prometheus.NewDesc(Namespace+"_ipam_used_addresses", "Addresses allocated or reserved by owners in the subnet's pool (not the network, gateway and excluded ones).",
		[]string{"network", "subnet"}, nil)
	freeDesc = prometheus.NewDesc(Namespace+"_ipam_free_addresses", "Addresses left in the subnet's pool.",
		[]string{"network", "subnet"}, nil)
	portsDesc = prometheus.NewDesc(Namespace+"_ports", "Logical ports of this chassis by kind and state (up: ovn-controller bound it).",
		[]string{"kind", "state"}, nil)
	connDesc = prometheus.NewDesc(Namespace+"_ovsdb_connected", "Whether the daemon is connected to the database (1) or not (0).",
		[]string{"db"}, nil)
)

// Watch registers the scrape-time collector of src.
func (m *Metrics) Watch(src Sources) {
	m.Registry.MustRegister(sources(src))
}

type sources Sources

func (s sources) Describe(ch chan<- *prometheus.Desc) {
	ch <- usedDesc
	ch <- freeDesc
	ch <- portsDesc
	ch <- connDesc
}

func (s sources) Collect(ch chan<- prometheus.Metric) {
	if s.IPAM != nil {
		for _, p := range s.IPAM() {
			ch <- prometheus.MustNewConstMetric(usedDesc, prometheus.GaugeValue, float64(p.Used), p.Network, p.Subnet)
			ch <- prometheus.MustNewConstMetric(freeDesc, prometheus.GaugeValue, float64(p.Free), p.Network, p.Subnet)
		}
	}
	if s.Ports != nil {
		type key struct{ kind, state string }
		n := map[key]int{}
		for _, p := range s.Ports() {
			st := "down"
			if p.Up {
				st = "up"
			}
			n[key{p.Kind, st}]++
		}
		for k, v := range n {
			ch <- prometheus.MustNewConstMetric(portsDesc, prometheus.GaugeValue, float64(v), k.kind, k.state)
		}
	}
	for db, up := range s.Connected {
		v := 0.0
		if up() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(connDesc, prometheus.GaugeValue, v, db)
	}
}
