package ipam

import (
	"net/netip"
	"testing"
)

// TestPoolClone: a clone is independent of its original.
func TestPoolClone(t *testing.T) {
	p, err := NewPool(PoolConfig{Subnet: netip.MustParsePrefix("10.0.0.0/29")})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Clone()
	a, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if p.State(a) == c.State(a) || p.Stats() == c.Stats() {
		t.Errorf("allocating %s on the clone changed the original: %v / %v", a, p.Stats(), c.Stats())
	}
	if b, err := p.Allocate(); err != nil || b != a {
		t.Errorf("the original hands out %s (%v), want %s like the clone did", b, err, a)
	}
}
