// Package metrics is quantumnetd's Prometheus registry: request durations
// of the CNI plugin and the qemu hook (a gRPC interceptor), the phases of
// ADD, security-group syncs, live-migration handoffs and resolver answers
// (observers the instrumented packages declare and this package
// implements), and the state read at scrape time (IPAM, ports, database
// connections) through Sources. Every name starts with quantumnet_.
package metrics

import (
	"context"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Namespace prefixes every metric's name.
const Namespace = "quantumnet"

// durations are the buckets of request and phase histograms (seconds): a
// CNI ADD takes tens to hundreds of milliseconds, a slow one seconds.
var durations = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the registry and the instruments the daemon updates.
type Metrics struct {
	Registry *prometheus.Registry

	cni, hook   *prometheus.HistogramVec
	phases      *prometheus.HistogramVec
	sgRuns      prometheus.Counter
	sgErrors    prometheus.Counter
	handoffs    *prometheus.HistogramVec
	gaps        prometheus.Histogram
	dnsQueries  *prometheus.CounterVec
	dnsAnswers  *prometheus.CounterVec
	dnsRefusals *prometheus.CounterVec
}

// New makes the registry with the process' and Go runtime's collectors
// and every instrument of the daemon.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r}
	f := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: durations}, labels)
	}
	c := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	m.cni = f("cni_request_duration_seconds", "CNI requests by verb (ADD, DEL, CHECK, GC) and result (ok or the error's gRPC code).", "verb", "result")
	m.hook = f("hook_request_duration_seconds", "qemu hook requests by libvirt event and result (ok or the error's gRPC code).", "event", "result")
	m.phases = f("cni_add_phase_duration_seconds", "Phases of successful CNI ADDs: nb (Northbound transaction), veth, ovs (OVS port), flows (wait for ovn-controller's flows).", "phase")
	m.handoffs = f("migration_handoff_duration_seconds", "Live-migration handoffs on this destination chassis, from ports bound on both chassis to the guest resumed here (done) or rolled_back (the network gap: quantumnet_migration_network_gap_seconds).", "result")
	m.gaps = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "migration_network_gap_seconds", Buckets: durations,
		Help: "Live migrations into this chassis: QEMU's downtime (libvirt's completed-job downtime: the guest paused at the source until it resumed here) plus the time from the daemon seeing the guest resume here until Southbound showed all its ports active here (bound here, or activated by the guest's RARP). A lower bound of the gap peers see: their own ovn-controllers' reaction to Southbound is not in it."})
	m.sgRuns = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "secgroup_sync_runs_total", Help: "Security group syncs (start-up and periodic)."})
	m.sgErrors = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "secgroup_sync_errors_total", Help: "Security group syncs that failed."})
	m.dnsQueries = c("dns_queries_total", "Queries the network's resolver on this chassis received.", "network")
	m.dnsAnswers = c("dns_answers_total", "Replies of the network's resolver by rcode (NOERROR, NXDOMAIN, SERVFAIL, ...).", "network", "rcode")
	m.dnsRefusals = c("dns_refusals_total", "Queries the network's resolver refused (rcode REFUSED: foreign names without an upstream).", "network")
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.cni, m.hook, m.phases, m.handoffs, m.gaps, m.sgRuns, m.sgErrors, m.dnsQueries, m.dnsAnswers, m.dnsRefusals)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// cniVerbs and hookEvents name the RPCs of the CNI plugin and the qemu
// hook; other calls (qnetctl's) are not timed here.
var (
	cniVerbs   = map[string]string{"CNIAdd": "ADD", "CNIDel": "DEL", "CNICheck": "CHECK", "CNIGC": "GC"}
	hookEvents = map[string]string{"VMPrepare": "prepare", "VMStarted": "started", "VMStopped": "stopped",
		"VMMigrateIn": "migrate", "VMReconnect": "reconnect"}
)

// UnaryInterceptor times the CNI and hook calls by verb and result.
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		name := path.Base(info.FullMethod)
		verb, isCNI := cniVerbs[name]
		event, isHook := hookEvents[name]
		if !isCNI && !isHook {
			return handler(ctx, req)
		}
		t0 := time.Now()
		resp, err := handler(ctx, req)
		result := "ok"
		if err != nil {
			result = status.Code(err).String()
		}
		if isCNI {
			m.cni.WithLabelValues(verb, result).Observe(time.Since(t0).Seconds())
		} else {
			m.hook.WithLabelValues(event, result).Observe(time.Since(t0).Seconds())
		}
		return resp, err
	}
}

// AddPhases records the phases of a successful ADD (attach.Observer).
func (m *Metrics) AddPhases(nb, veth, ovs, flows time.Duration) {
	for phase, d := range map[string]time.Duration{"nb": nb, "veth": veth, "ovs": ovs, "flows": flows} {
		m.phases.WithLabelValues(phase).Observe(d.Seconds())
	}
}

// SecurityGroupSync records one sync and its error (nbstore.Observer).
func (m *Metrics) SecurityGroupSync(err error) {
	m.sgRuns.Inc()
	if err != nil {
		m.sgErrors.Inc()
	}
}

// Handoff records a finished live-migration handoff (vm.Observer).
func (m *Metrics) Handoff(done bool, d time.Duration) {
	result := "done"
	if !done {
		result = "rolled_back"
	}
	m.handoffs.WithLabelValues(result).Observe(d.Seconds())
}

// NetworkGap records an incoming migration's network gap as this chassis
// measures it (vm.Observer).
func (m *Metrics) NetworkGap(downtime, activation time.Duration) {
	m.gaps.Observe((downtime + activation).Seconds())
}

// DNSReply records one reply of a network's resolver (dns.Observer).
func (m *Metrics) DNSReply(network string, rcode int) {
	m.dnsQueries.WithLabelValues(network).Inc()
	name, ok := dns.RcodeToString[rcode]
	if !ok {
		name = "OTHER"
	}
	m.dnsAnswers.WithLabelValues(network, strings.ToUpper(name)).Inc()
	if rcode == dns.RcodeRefused {
		m.dnsRefusals.WithLabelValues(network).Inc()
	}
}
