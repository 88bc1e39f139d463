package network

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The parsed form of a network is cached per switch row: Parse builds the
// allocation pools to check the ranges, which costs a /8 with large
// excludes a lot, and FromSwitch runs on every ADD and IPAM lookup. An
// entry is keyed by the row's UUID and holds the external_ids it was
// parsed from: a change of them (a cache event's new row) parses again,
// and Forget, called when the row is deleted, drops the entry.

// maxCachedSpecs bounds the cache if Forget is never called (rows seen
// through a client that does not report deletions): beyond it the cache
// starts over.
const maxCachedSpecs = 4096

type cachedSpec struct {
	ids  map[string]string // the external_ids parsed (a copy)
	spec Spec
	err  error
}

var specs = struct {
	mu sync.Mutex
	m  map[string]*cachedSpec // switch UUID -> its parsed spec
}{m: map[string]*cachedSpec{}}

// parses counts the stored specs actually parsed (for tests).
var parses atomic.Int64

// Forget drops the cached spec of the switch row uuid (call it when the
// row is deleted).
func Forget(uuid string) {
	specs.mu.Lock()
	defer specs.mu.Unlock()
	delete(specs.m, uuid)
}

// CachedSpecs is the number of cached specs (for tests and metrics).
func CachedSpecs() int {
	specs.mu.Lock()
	defer specs.mu.Unlock()
	return len(specs.m)
}

// FromSwitch reads a Spec back from its Logical_Switch. A stored spec that
// does not parse is a *StoredError. The result is cached per row (see
// above); a row without a UUID (not from a database) is parsed each time.
func FromSwitch(ls *nbdb.LogicalSwitch) (Spec, error) {
	if ls.UUID == "" {
		parses.Add(1)
		return fromSwitch(ls)
	}
	specs.mu.Lock()
	c := specs.m[ls.UUID]
	specs.mu.Unlock()
	if c == nil || !maps.Equal(c.ids, ls.ExternalIDs) {
		parses.Add(1)
		spec, err := fromSwitch(ls)
		c = &cachedSpec{ids: maps.Clone(ls.ExternalIDs), spec: spec, err: err}
		specs.mu.Lock()
		if len(specs.m) >= maxCachedSpecs {
			clear(specs.m)
		}
		specs.m[ls.UUID] = c
		specs.mu.Unlock()
	}
	// The name is the row's, which may have changed without the ids.
	if se := (*StoredError)(nil); errors.As(c.err, &se) {
		return c.spec.clone(), &StoredError{Switch: ls.Name, Err: se.Err}
	}
	return c.spec.clone(), c.err
}

// clone copies the slices of s, so that callers may not change the cache.
func (s Spec) clone() Spec {
	s.Exclude = slices.Clone(s.Exclude)
	s.DNSServers = slices.Clone(s.DNSServers)
	s.NTPServers = slices.Clone(s.NTPServers)
	s.Routes = slices.Clone(s.Routes)
	s.Upstream = slices.Clone(s.Upstream)
	return s
}
