package dns

import (
	"sync"

	"github.com/miekg/dns"
)

// Sockets to upstream servers are kept for a few queries instead of one
// socket per query: opening and closing it was a third of a forwarded
// query's CPU (test/bench/dns). A socket serves one query at a time and at
// most maxSocketUses in all, then is closed, so that source ports keep
// changing (with the fresh message id, what makes a forged answer hard to
// land); at most maxIdleSockets wait per server between queries, as many as
// a network may have forwards in flight by default (fewer, and a busy
// network opens sockets again). An answer arriving late on a reused socket
// is skipped (its id is another's).
const (
	maxSocketUses  = 16
	maxIdleSockets = defaultMaxForwards
)

// sockets are the idle UDP sockets of a Resolver, per upstream server.
type sockets struct {
	mu   sync.Mutex
	idle map[string][]*upSocket
}

type upSocket struct {
	*dns.Conn
	uses int
}

// get returns an idle socket to server, or a new one.
func (s *sockets) get(c *dns.Client, server string) (*upSocket, error) {
	s.mu.Lock()
	if l := s.idle[server]; len(l) > 0 {
		u := l[len(l)-1]
		s.idle[server] = l[:len(l)-1]
		s.mu.Unlock()
		return u, nil
	}
	s.mu.Unlock()
	co, err := c.Dial(server)
	if err != nil {
		return nil, err
	}
	return &upSocket{Conn: co}, nil
}

// put gives u back after a query: kept if it answered (ok) and has uses
// left and there is room, else closed.
func (s *sockets) put(server string, u *upSocket, ok bool) {
	u.uses++
	if ok && u.uses < maxSocketUses {
		s.mu.Lock()
		if s.idle == nil {
			s.idle = map[string][]*upSocket{}
		}
		if len(s.idle[server]) < maxIdleSockets {
			s.idle[server] = append(s.idle[server], u)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	_ = u.Close()
}

// exchangeUDP asks server over UDP on a kept socket.
func (r *Resolver) exchangeUDP(q *dns.Msg, server string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: r.timeout(), UDPSize: dns.MaxMsgSize}
	u, err := r.socks.get(c, server)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.ExchangeWithConn(q, u.Conn)
	r.socks.put(server, u, err == nil)
	return resp, err
}
