package ovsdbtest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to an OVSDB remote and can stall them:
// a stalled proxy keeps every connection open but forwards nothing, as a
// half-open connection (a peer gone without a FIN, a dropped route) looks
// to the client.
type Proxy struct {
	// Remote is the proxy's own remote ("tcp:127.0.0.1:PORT").
	Remote string

	target   string // "unix:PATH" or "tcp:HOST:PORT"
	ln       net.Listener
	accepted atomic.Int64

	mu   sync.Mutex
	open chan struct{} // closed while forwarding
}

// NewProxy starts a proxy to target, closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Remote: "tcp:" + ln.Addr().String(), target: target, ln: ln, open: make(chan struct{})}
	close(p.open)
	var wg sync.WaitGroup
	t.Cleanup(func() { p.Resume(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	return p
}

// Stall stops forwarding (connections stay open); Resume forwards again.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// Resume forwards again what a Stall held back.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Accepted counts the connections the proxy has accepted.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

func (p *Proxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

func (p *Proxy) serve(c net.Conn) {
	defer c.Close()
	<-p.gate()
	proto, addr, _ := strings.Cut(p.target, ":")
	u, err := net.Dial(proto, addr)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { p.copy(u, c); done <- struct{}{} }()
	go func() { p.copy(c, u); done <- struct{}{} }()
	<-done
}

// copy forwards src to dst, holding what it read while stalled.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		<-p.gate()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
