// Package events is the daemon's event hub: it holds the API view of every
// port, network, router, floating IP and load balancer, kept by the
// Northbound/Southbound monitors (Feed: one object rebuilt per changed
// row, never the world), and hands subscribers a snapshot, then the
// changes in order. A subscriber is a bounded queue that the hub fills
// without ever waiting: one that falls behind is told "resync" and gets a
// fresh snapshot, so nothing is lost silently and nobody slows the daemon.
// Subscribers own no goroutine: they are read by their caller (the Watch
// RPC's handler).
package events

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// Kinds of objects and types of events (api.Event).
const (
	KindPort         = "port"
	KindNetwork      = "network"
	KindRouter       = "router"
	KindFloatingIP   = "floating_ip"
	KindLoadBalancer = "load_balancer"

	TypeSnapshot = "snapshot"
	TypeSynced   = "synced"
	TypeCreated  = "created"
	TypeUpdated  = "updated"
	TypeDeleted  = "deleted"
	TypeResync   = "resync"
)

// Kinds are every kind, in snapshot order.
var Kinds = []string{KindNetwork, KindRouter, KindPort, KindFloatingIP, KindLoadBalancer}

// DefaultBuffer is a subscriber's queue when the hub has none set.
const DefaultBuffer = 1024

// ErrClosed ends the subscriptions of a closed hub (the daemon stops).
var ErrClosed = errors.New("events: the daemon is shutting down")

// Object is one object as the API shows it.
type Object struct {
	Kind, Name string
	Networks   []string      // the networks it belongs to (filters)
	Msg        proto.Message // *api.Port, *api.Network, ... never changed once handed to the hub
}

// change is one event before it is addressed to a subscriber.
type change struct {
	typ      string
	old, cur *Object // created: old nil; deleted: cur nil
	changed  []string
	at       time.Time
}

// Hub is the set of objects and their subscribers. Its zero value is not
// ready: use New.
type Hub struct {
	buffer int

	mu     sync.Mutex
	objs   map[string]map[string]*Object // kind -> name -> object
	subs   map[*Subscription]bool
	synced bool
	ready  chan struct{} // closed by Synced
	done   chan struct{} // closed by Close
	closed bool
}

// New returns an empty hub whose subscribers queue at most buffer events
// (0: DefaultBuffer).
func New(buffer int) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Hub{buffer: buffer, objs: map[string]map[string]*Object{}, subs: map[*Subscription]bool{},
		ready: make(chan struct{}), done: make(chan struct{})}
}

// Synced tells the hub that it holds every object (the feed's first full
// pass is done): snapshots are served from then on.
func (h *Hub) Synced() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.synced {
		h.synced = true
		close(h.ready)
	}
}

// Close ends every subscription (with ErrClosed); Set and Delete are
// ignored afterwards.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Set records o as it is now and publishes created, or updated naming the
// changed fields (nothing when nothing changed).
func (h *Hub) Set(o *Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	byName := h.objs[o.Kind]
	if byName == nil {
		byName = map[string]*Object{}
		h.objs[o.Kind] = byName
	}
	old := byName[o.Name]
	byName[o.Name] = o
	if old == nil {
		h.publish(change{typ: TypeCreated, cur: o, at: time.Now()})
		return
	}
	if diff := Changed(old.Msg, o.Msg); len(diff) > 0 || !slices.Equal(old.Networks, o.Networks) {
		h.publish(change{typ: TypeUpdated, old: old, cur: o, changed: diff, at: time.Now()})
	}
}

// Delete forgets an object and publishes deleted (as it was).
func (h *Hub) Delete(kind, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.objs[kind][name]
	if old == nil || h.closed {
		return
	}
	delete(h.objs[kind], name)
	h.publish(change{typ: TypeDeleted, old: old, at: time.Now()})
}

// Names are the names of the objects of kind the hub holds (O(those)).
func (h *Hub) Names(kind string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.objs[kind]))
	for n := range h.objs[kind] {
		out = append(out, n)
	}
	return out
}

// Count is how many objects of kind the hub holds.
func (h *Hub) Count(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.objs[kind])
}

// Get returns the object kind/name as the hub holds it (nil: none).
func (h *Hub) Get(kind, name string) *Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.objs[kind][name]
}

// Subscribers is how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// publish queues c for every subscriber it concerns, never waiting
// (h.mu held).
func (h *Hub) publish(c change) {
	for s := range h.subs {
		s.offer(c, h.buffer)
	}
}

// Changed names the top-level fields (the proto's names) in which two
// messages of one type differ, in field order.
func Changed(a, b proto.Message) []string {
	ma, mb := a.ProtoReflect(), b.ProtoReflect()
	fields := ma.Descriptor().Fields()
	var out []string
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !equalField(fd, ma, mb) {
			out = append(out, string(fd.Name()))
		}
	}
	return out
}

func equalField(fd protoreflect.FieldDescriptor, a, b protoreflect.Message) bool {
	ha, hb := a.Has(fd), b.Has(fd)
	if !ha || !hb {
		return ha == hb
	}
	va, vb := a.Get(fd), b.Get(fd)
	switch {
	case fd.IsList():
		la, lb := va.List(), vb.List()
		if la.Len() != lb.Len() {
			return false
		}
		for i := 0; i < la.Len(); i++ {
			if !equalValue(fd, la.Get(i), lb.Get(i)) {
				return false
			}
		}
		return true
	case fd.IsMap():
		ma, mb := va.Map(), vb.Map()
		eq := ma.Len() == mb.Len()
		ma.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			eq = eq && mb.Has(k) && equalValue(fd.MapValue(), v, mb.Get(k))
			return eq
		})
		return eq
	}
	return equalValue(fd, va, vb)
}

func equalValue(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) bool {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return proto.Equal(a.Message().Interface(), b.Message().Interface())
	}
	return a.Equal(b)
}

// Filter selects what a subscriber sees.
type Filter struct {
	Kinds   []string // none: every kind
	Network string   // "": every network
}

func (f Filter) match(o *Object) bool {
	if o == nil {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, o.Kind) {
		return false
	}
	return f.Network == "" || slices.Contains(o.Networks, f.Network)
}

// Subscribe opens a subscription; the caller reads it with Next and must
// Close it.
func (h *Hub) Subscribe(f Filter) *Subscription {
	s := &Subscription{h: h, f: f, wake: make(chan struct{}, 1), snap: true}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = true
	return s
}

// Subscription is one subscriber: a bounded queue of changes the hub
// fills, and the events being handed out.
type Subscription struct {
	h    *Hub
	f    Filter
	wake chan struct{} // a change was queued (capacity 1)

	mu       sync.Mutex // under h.mu when both are held
	queue    []change
	snap     bool // the next events are a snapshot (first, or after an overflow)
	overflow bool // the queue overflowed: resync first

	out []*api.Event // ready to hand out (only Next's goroutine)
	seq uint64
}

// offer queues c if it concerns s (h.mu held): on overflow the queue is
// dropped and a snapshot is due instead.
func (s *Subscription) offer(c change, limit int) {
	if !s.f.match(c.old) && !s.f.match(c.cur) {
		return
	}
	s.mu.Lock()
	switch {
	case s.snap: // the coming snapshot has it
	case len(s.queue) >= limit:
		s.queue, s.snap, s.overflow = nil, true, true
	default:
		s.queue = append(s.queue, c)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close ends the subscription; the hub forgets it.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	delete(s.h.subs, s)
}

// Next returns the next event, waiting for one: first the snapshot
// (events "snapshot" then one "synced", once the hub is synced), then the
// changes in order; after an overflow "resync" and a fresh snapshot. Seq
// increases by one per event. It fails with ctx's error or ErrClosed.
func (s *Subscription) Next(ctx context.Context) (*api.Event, error) {
	for len(s.out) == 0 {
		if err := s.fill(ctx); err != nil {
			return nil, err
		}
	}
	ev := s.out[0]
	s.out[0] = nil
	s.out = s.out[1:]
	s.seq++
	ev.Seq = s.seq
	return ev, nil
}

// fill moves what is due into s.out, or waits for something.
func (s *Subscription) fill(ctx context.Context) error {
	select {
	case <-s.h.done:
		return ErrClosed
	default:
	}
	s.mu.Lock()
	snap, overflow, queue := s.snap, s.overflow, s.queue
	s.queue = nil
	s.mu.Unlock()
	if snap {
		select {
		case <-s.h.ready:
		case <-s.h.done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
		if overflow {
			s.out = append(s.out, &api.Event{Type: TypeResync, TimeUnixNano: time.Now().UnixNano()})
		}
		s.out = append(s.out, s.snapshot()...)
		return nil
	}
	for _, c := range queue {
		s.out = append(s.out, s.event(c))
	}
	if len(s.out) > 0 {
		return nil
	}
	select {
	case <-s.wake:
		return nil
	case <-s.h.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot takes the hub's objects that match, sorted by kind and name,
// and restarts the queue at that moment.
func (s *Subscription) snapshot() []*api.Event {
	s.h.mu.Lock()
	s.mu.Lock()
	s.queue, s.snap, s.overflow = nil, false, false
	s.mu.Unlock()
	var objs []*Object
	for kind, byName := range s.h.objs {
		if len(s.f.Kinds) > 0 && !slices.Contains(s.f.Kinds, kind) {
			continue
		}
		for _, o := range byName {
			if s.f.match(o) {
				objs = append(objs, o)
			}
		}
	}
	s.h.mu.Unlock()
	order := func(k string) int { return slices.Index(Kinds, k) }
	slices.SortFunc(objs, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(order(a.Kind), order(b.Kind)), cmp.Compare(a.Name, b.Name))
	})
	now := time.Now().UnixNano()
	out := make([]*api.Event, 0, len(objs)+1)
	for _, o := range objs {
		out = append(out, eventOf(TypeSnapshot, o, now))
	}
	return append(out, &api.Event{Type: TypeSynced, TimeUnixNano: now})
}

// event addresses c to s: an object that enters the filter is created
// for it, one that leaves it deleted.
func (s *Subscription) event(c change) *api.Event {
	at := c.at.UnixNano()
	switch {
	case c.typ == TypeUpdated && !s.f.match(c.old):
		return eventOf(TypeCreated, c.cur, at)
	case c.typ == TypeUpdated && !s.f.match(c.cur):
		return eventOf(TypeDeleted, c.old, at)
	case c.typ == TypeDeleted:
		return eventOf(TypeDeleted, c.old, at)
	}
	ev := eventOf(c.typ, c.cur, at)
	ev.Changed = c.changed
	return ev
}

// eventOf is an event of type typ carrying o.
func eventOf(typ string, o *Object, at int64) *api.Event {
	ev := &api.Event{Type: typ, Kind: o.Kind, Name: o.Name, TimeUnixNano: at}
	switch m := o.Msg.(type) {
	case *api.Port:
		ev.Port = m
	case *api.Network:
		ev.Network = m
	case *api.Router:
		ev.Router = m
	case *api.FloatingIP:
		ev.FloatingIp = m
	case *api.LoadBalancer:
		ev.LoadBalancer = m
	}
	return ev
}
