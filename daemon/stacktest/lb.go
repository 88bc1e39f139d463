package stacktest

import (
	"context"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lb"
)

// LBStore is what LoadBalancers and Members use of a load balancer store
// (daemon/lb/nbstore's Manager; stacktest cannot link it: that package's
// tests link stacktest).
type LBStore interface {
	Create(ctx context.Context, l lb.LoadBalancer) (lb.LoadBalancer, error)
	Get(name string) (lb.LoadBalancer, error)
}

// LoadBalancers creates every one of ls in store.
func LoadBalancers(t testing.TB, ctx context.Context, store LBStore, ls ...lb.LoadBalancer) {
	t.Helper()
	for _, l := range ls {
		if _, err := store.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
}

// Members are the IDs of the members of the load balancer name, in its
// order, joined by commas.
func Members(t testing.TB, store LBStore, name string) string {
	t.Helper()
	l, err := store.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, mb := range l.Members {
		ids = append(ids, mb.ID())
	}
	return strings.Join(ids, ",")
}
