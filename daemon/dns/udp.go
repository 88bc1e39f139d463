package dns

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// udpServer answers one network's queries on its UDP socket. One reader
// reads a query and answers the network's names inline; a foreign name
// goes to a goroutine of its own once it has a place among the network's
// forwards in flight (beyond the bound: SERVFAIL at once, as the handler
// answers). Unlike miekg's UDP server it starts no goroutine and sets no
// read deadline per query, and no second reader waits on the socket's lock:
// each of those is a goroutine handoff (a thread woken) per query, which
// test/bench/dns showed to cost more than answering (two readers: 1.7x
// the context switches, no more queries per second). The replies are the
// handler's: same answers, OPT, truncation, FORMERR for a query that does
// not unpack, nothing for a response; each leaves from the address its
// query came to (IP_PKTINFO, as miekg does).
type udpServer struct {
	r        *Resolver
	network  string
	conn     *net.UDPConn
	records  func() *Records
	forwards gate

	stopping atomic.Bool
	inflight sync.WaitGroup // forwards
}

// serve reads until shutdown or a read error, then waits for the forwards
// in flight; it returns the error (nil after shutdown).
func (u *udpServer) serve() error {
	if err := setPktinfo(u.conn); err != nil {
		return err
	}
	err := u.read()
	u.inflight.Wait()
	return err
}

// shutdown stops the reader; Serve then waits for serve to return.
func (u *udpServer) shutdown(<-chan struct{}) { u.stop() }

func (u *udpServer) stop() {
	u.stopping.Store(true)
	_ = u.conn.SetReadDeadline(time.Unix(1, 0)) // wakes the reader
}

// read is the reader's loop.
func (u *udpServer) read() error {
	buf := make([]byte, EDNSSize) // as miekg's server: a longer query is cut (and FORMERR)
	for {
		n, sess, err := dns.ReadFromSessionUDP(u.conn, buf)
		if u.stopping.Load() {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		u.handle(buf[:n], sess)
	}
}

// handle answers one datagram.
func (u *udpServer) handle(m []byte, sess *dns.SessionUDP) {
	const headerSize = 12
	if len(m) < headerSize || m[2]&0x80 != 0 { // too short, or a response (acceptMsg)
		return
	}
	req := new(dns.Msg)
	if err := req.Unpack(m); err != nil {
		// As miekg's server: FORMERR, the header and what unpacked of the
		// question, no other section.
		req.SetRcodeFormatError(req)
		req.Zero = false
		req.Ns, req.Answer, req.Extra = nil, nil, nil
		u.write(req, sess)
		return
	}
	if resp := u.r.answer(u.records, req); resp != nil {
		u.send(resp, req, sess)
		return
	}
	servers, resp := u.r.admit(u.network, req, u.forwards)
	if resp != nil {
		u.send(resp, req, sess)
		return
	}
	u.inflight.Add(1)
	go func() {
		defer u.inflight.Done()
		defer u.forwards.leave()
		u.send(u.r.relay(u.network, req, servers), req, sess)
	}()
}

// send finishes resp (the handler's OPT and truncation), tells the
// observer and writes it.
func (u *udpServer) send(resp, req *dns.Msg, sess *dns.SessionUDP) {
	if u.r.Observer != nil {
		u.r.Observer.DNSReply(u.network, resp.Rcode)
	}
	finish(resp, req, true)
	u.write(resp, sess)
}

func (u *udpServer) write(resp *dns.Msg, sess *dns.SessionUDP) {
	b, err := resp.Pack()
	if err == nil {
		_, err = dns.WriteToSessionUDP(u.conn, b, sess)
	}
	if err != nil {
		u.r.log().Debug("dns reply not sent", "network", u.network, "client", sess.RemoteAddr().String(), "err", err)
	}
}

// setPktinfo asks for each datagram's destination address (IP_PKTINFO,
// IPV6_RECVPKTINFO: the socket may be either family), which
// WriteToSessionUDP makes the reply's source.
func setPktinfo(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var e4, e6 error
	if err := rc.Control(func(fd uintptr) {
		e4 = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		e6 = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	}); err != nil {
		return err
	}
	if e4 != nil && e6 != nil {
		return e4
	}
	return nil
}
