package dirty

import (
	"context"
	"slices"
	"testing"
	"time"
)

// run runs s until the test ends, reporting passes over everything on
// every and names on ones.
func run(t *testing.T, s *Set) (every chan struct{}, ones chan string) {
	ctx, cancel := context.WithCancel(context.Background())
	every, ones = make(chan struct{}, 10), make(chan string, 10)
	done := make(chan struct{})
	go func() {
		s.Run(ctx, time.Hour, func(context.Context) { every <- struct{}{} }, func(_ context.Context, n string) { ones <- n })
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if len(every) != 0 || len(ones) != 0 {
			t.Errorf("left over: %d passes, %d names", len(every), len(ones))
		}
	})
	return every, ones
}

// TestRun: Run passes over everything first; names marked before and
// while it runs reach one (each once, "" never).
func TestRun(t *testing.T) {
	var s Set
	s.Mark("a", "", "b")
	every, ones := run(t, &s)
	<-every
	got := []string{<-ones, <-ones}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("one got %v, want a and b", got)
	}
	s.Mark("c")
	if n := <-ones; n != "c" {
		t.Fatalf("one got %q, want c", n)
	}
}

// TestMarkAll: MarkAll brings a pass over everything instead of the names
// marked with it.
func TestMarkAll(t *testing.T) {
	var s Set
	s.Mark("d")
	s.MarkAll()
	every, ones := run(t, &s)
	<-every // the first pass
	<-every // the marks
	s.Mark("e")
	if n := <-ones; n != "e" {
		t.Fatalf("one got %q after MarkAll, want e (d went with the pass over everything)", n)
	}
}
