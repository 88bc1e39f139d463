// Package keylock serializes work per key: every change of one object (a
// network, a security group, a port) goes through one lock of its key, while
// changes of different objects run in parallel (antrea's
// containerAccessArbitrator). A key's lock exists only while it is held or
// waited for, so the map does not grow with the objects ever seen.
//
// It serializes within one process only; between daemons, the optimistic
// waits of the transactions do.
package keylock

import "sync"

// Map holds one lock per key. The zero value is ready to use; a Map must
// not be copied after first use.
type Map struct {
	mu    sync.Mutex
	locks map[string]*entry
}

type entry struct {
	mu    sync.Mutex
	users int // holders and waiters
}

// Lock takes the lock of key, waiting while another holds it, and returns
// the function that releases it.
func (m *Map) Lock(key string) (unlock func()) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*entry{}
	}
	e := m.locks[key]
	if e == nil {
		e = &entry{}
		m.locks[key] = e
	}
	e.users++
	m.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		m.mu.Lock()
		if e.users--; e.users == 0 {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}
}

// Len is the number of keys held or waited for.
func (m *Map) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.locks)
}
