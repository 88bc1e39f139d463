package events

import (
	"context"
	"sync"
	"time"
)

// burst is how long the loop waits after a wake-up, to gather the marks
// of a burst of cache events (one transaction's rows) into one pass.
const burst = 5 * time.Millisecond

// marks is the feed's set of objects to rebuild, kept in the order they
// were first marked, so that the changes of different objects are
// published in the order their rows changed (pkg/dirty's set has no
// order).
type marks struct {
	mu    sync.Mutex
	order []string
	has   map[string]bool
	kick  chan struct{}
}

func newMarks() *marks { return &marks{has: map[string]bool{}, kick: make(chan struct{}, 1)} }

// Mark adds names (already marked ones keep their place) and wakes run.
func (m *marks) Mark(names ...string) {
	m.mu.Lock()
	for _, n := range names {
		if !m.has[n] {
			m.has[n] = true
			m.order = append(m.order, n)
		}
	}
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *marks) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.order
	m.order, m.has = nil, map[string]bool{}
	return out
}

// reconnectCheck is how often run asks whether the databases came back.
const reconnectCheck = time.Second

// run calls one for each mark, in order, and every at each interval and
// when back tells that a database reconnected, until ctx ends.
func (m *marks) run(ctx context.Context, interval time.Duration, back func() bool, every func(), one func(string)) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	check := time.NewTicker(reconnectCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			every()
		case <-check.C:
			if back() {
				every()
			}
		case <-m.kick:
			time.Sleep(burst)
			for _, n := range m.take() {
				one(n)
			}
		}
	}
}
