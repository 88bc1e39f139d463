package keylock

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// One key's holders never overlap; the map is empty once all are done.
func TestSerializesOneKey(t *testing.T) {
	var m Map
	var in, max atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer m.Lock("blue")()
			if n := in.Add(1); n > max.Load() {
				max.Store(n)
			}
			time.Sleep(100 * time.Microsecond)
			in.Add(-1)
		}()
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Fatalf("%d holders at once, want 1", max.Load())
	}
	if m.Len() != 0 {
		t.Fatalf("%d keys left after every unlock", m.Len())
	}
}

// Different keys do not wait for each other.
func TestKeysIndependent(t *testing.T) {
	var m Map
	unlock := m.Lock("blue")
	done := make(chan struct{})
	go func() { m.Lock("red")(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("red waited for blue")
	}
	unlock()
}
