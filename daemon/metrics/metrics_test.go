package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func call(t *testing.T, m *Metrics, method string, err error) {
	t.Helper()
	_, got := m.UnaryInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/quantumnet.QuantumNet/" + method},
		func(context.Context, any) (any, error) { return nil, err })
	if !errors.Is(got, err) {
		t.Fatalf("%s: interceptor changed the error: %v", method, got)
	}
}

// TestInstruments: each observer and the interceptor move their series
// (by verb, event and result), other calls are not timed, and the whole
// registry passes Prometheus' own lint.
func TestInstruments(t *testing.T) {
	m := New()
	call(t, m, "CNIAdd", nil)
	call(t, m, "CNIAdd", nil)
	call(t, m, "CNIAdd", status.Error(codes.Unavailable, "not ready"))
	call(t, m, "CNIDel", nil)
	call(t, m, "VMPrepare", status.Error(codes.InvalidArgument, "bad"))
	call(t, m, "ListPorts", nil)
	m.AddPhases(time.Millisecond, time.Millisecond, time.Millisecond, 10*time.Millisecond)
	m.SecurityGroupSync(nil)
	m.SecurityGroupSync(errors.New("boom"))
	m.Handoff(true, time.Second)
	m.NetworkGap(30*time.Millisecond, 5*time.Millisecond)
	m.DNSReply("blue", dns.RcodeSuccess)
	m.DNSReply("blue", dns.RcodeRefused)
	m.Watch(Sources{
		IPAM:      func() []Pool { return []Pool{{Network: "blue", Subnet: "10.0.0.0/24", Used: 3, Free: 250}} },
		Ports:     func() []PortState { return []PortState{{"container", true}, {"container", true}, {"vm", false}} },
		Connected: map[string]func() bool{"nb": func() bool { return true }, "sb": func() bool { return false }},
	})
	if got := histCount(t, m, "quantumnet_cni_request_duration_seconds", map[string]string{"verb": "ADD", "result": "ok"}); got != 2 {
		t.Errorf("ADD ok: %d observations, want 2", got)
	}
	if got := histCount(t, m, "quantumnet_migration_network_gap_seconds", nil); got != 1 {
		t.Errorf("network gap: %d observations, want 1", got)
	}
	counts := map[string]int{
		"quantumnet_cni_request_duration_seconds":   3, // ADD/ok, ADD/Unavailable, DEL/ok
		"quantumnet_hook_request_duration_seconds":  1,
		"quantumnet_cni_add_phase_duration_seconds": 4,
		"quantumnet_ipam_used_addresses":            1,
		"quantumnet_ports":                          2,
		"quantumnet_ovsdb_connected":                2,
		"quantumnet_dns_answers_total":              2,
	}
	for name, want := range counts {
		if got := testutil.CollectAndCount(m.Registry, name); got != want {
			t.Errorf("%s: %d series, want %d", name, got, want)
		}
	}
	if got := testutil.ToFloat64(m.sgErrors); got != 1 {
		t.Errorf("secgroup sync errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.dnsRefusals.WithLabelValues("blue")); got != 1 {
		t.Errorf("dns refusals %v, want 1", got)
	}
	problems, err := promlint.NewWithMetricFamilies(gather(t, m)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func gather(t *testing.T, m *Metrics) []*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// histCount is the number of observations of the histogram name with
// these labels.
func histCount(t *testing.T, m *Metrics, name string, labels map[string]string) uint64 {
	t.Helper()
	for _, mf := range gather(t, m) {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return mt.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
