// Package dirty is the wake-up of a reconcile loop: event callbacks mark
// names (or everything) dirty without blocking, and Run works through
// them in bursts, with a pass over everything now and at every interval
// to catch what no event marked.
package dirty

import (
	"context"
	"sync"
	"time"
)

// DefaultInterval is the pass over everything when Run gets none.
const DefaultInterval = 30 * time.Second

// burst is how long Run waits after a wake-up, to gather the marks of a
// burst of events into one pass.
const burst = 10 * time.Millisecond

// Set is a set of dirty names; its zero value is empty and ready.
type Set struct {
	mu    sync.Mutex
	names map[string]bool
	all   bool
	kick  chan struct{}
}

// Mark marks names dirty ("" is no name) and wakes Run if one was.
func (s *Set) Mark(names ...string) {
	s.mu.Lock()
	marked := false
	for _, n := range names {
		if n == "" {
			continue
		}
		if s.names == nil {
			s.names = map[string]bool{}
		}
		s.names[n], marked = true, true
	}
	s.mu.Unlock()
	if marked {
		s.wake()
	}
}

// MarkAll marks everything dirty and wakes Run.
func (s *Set) MarkAll() {
	s.mu.Lock()
	s.all = true
	s.mu.Unlock()
	s.wake()
}

func (s *Set) kicks() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	return s.kick
}

func (s *Set) wake() {
	select {
	case s.kicks() <- struct{}{}:
	default:
	}
}

// take empties the set and returns what it held.
func (s *Set) take() (names map[string]bool, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, all = s.names, s.all
	s.names, s.all = nil, false
	return names, all
}

// Run calls every(ctx) now and at each interval (0: DefaultInterval), and
// once woken by marks (gathered for a burst): every(ctx) if everything was
// marked, else one(ctx, name) for each name marked. It returns when ctx
// ends.
func (s *Set) Run(ctx context.Context, interval time.Duration, every func(context.Context), one func(context.Context, string)) {
	if interval == 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	kick := s.kicks()
	every(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			every(ctx)
		case <-kick:
			time.Sleep(burst)
			names, all := s.take()
			if all {
				every(ctx)
				continue
			}
			for n := range names {
				one(ctx, n)
			}
		}
	}
}
