package dns

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Defaults of the per-network bounds (Resolver.MaxForwards, MaxTCPConns,
// IdleTimeout). With them a flood costs a network's resolver at most about
// MaxForwards goroutines and sockets for forwarding plus MaxTCPConns
// connections, whatever the clients do.
const (
	defaultMaxForwards = 64
	defaultMaxTCPConns = 32
	defaultIdleTimeout = 5 * time.Second
	tcpReadTimeout     = 2 * time.Second
)

func (r *Resolver) maxForwards() int {
	if r.MaxForwards <= 0 {
		return defaultMaxForwards
	}
	return r.MaxForwards
}

func (r *Resolver) maxTCPConns() int {
	if r.MaxTCPConns <= 0 {
		return defaultMaxTCPConns
	}
	return r.MaxTCPConns
}

func (r *Resolver) idleTimeout() time.Duration {
	if r.IdleTimeout <= 0 {
		return defaultIdleTimeout
	}
	return r.IdleTimeout
}

// gate is a non-blocking counting semaphore: a query that finds it full is
// answered at once instead of waiting (waiting is what a flood exploits).
type gate chan struct{}

func (g gate) enter() bool {
	select {
	case g <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g gate) leave() { <-g }

// limitedListener closes, at once, connections accepted beyond max open
// ones: the client sees its connection refused (closed before any answer)
// and no goroutine or descriptor stays behind for it.
type limitedListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused func()
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			_ = c.Close()
			if l.refused != nil {
				l.refused()
			}
			continue
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// countedConn gives its slot back to its listener when closed (once).
type countedConn struct {
	net.Conn
	l    *limitedListener
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

// tcpServer is the miekg server of one network's TCP listener, bounded:
// at most maxTCPConns connections, each dropped after idleTimeout without
// a query (and tcpReadTimeout before its first).
func (r *Resolver) tcpServer(network string, l net.Listener, h dns.Handler) *dns.Server {
	idle := r.idleTimeout()
	ll := &limitedListener{Listener: l, max: int64(r.maxTCPConns()), refused: func() {
		r.log().Debug("dns tcp connection refused: too many open", "network", network)
	}}
	return &dns.Server{Listener: ll, Handler: h, MsgAcceptFunc: acceptMsg,
		ReadTimeout: min(tcpReadTimeout, idle), IdleTimeout: func() time.Duration { return idle }}
}
