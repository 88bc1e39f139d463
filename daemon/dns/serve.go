package dns

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/miekg/dns"
)

// Serve answers on pc (UDP) and l (TCP; either may be nil) for network until
// ctx ends or the sockets are closed; it returns when both servers stopped.
// When one server stops the other is stopped too, and Serve closes both
// sockets before it returns. It returns nil when stopped by ctx or by
// closed sockets, otherwise the first error of a server. Both share the
// network's bound of forwards in flight. A UDP socket (*net.UDPConn) is
// served by udpServer (udp.go), other packet conns and TCP by miekg's
// server.
func (r *Resolver) Serve(ctx context.Context, network string, pc net.PacketConn, l net.Listener, records func() *Records) error {
	if pc == nil && l == nil {
		return errors.New("dns: serve: no socket")
	}
	forwards := make(gate, r.maxForwards())
	h := r.handler(network, records, forwards)
	var runs []*run
	if uc, ok := pc.(*net.UDPConn); ok {
		u := &udpServer{r: r, network: network, conn: uc, records: records, forwards: forwards}
		runs = append(runs, &run{proto: "udp", close: pc.Close, serve: u.serve, shutdown: u.shutdown})
	} else if pc != nil {
		runs = append(runs, miekgRun("udp", pc.Close, &dns.Server{PacketConn: pc, Handler: h, UDPSize: EDNSSize, MsgAcceptFunc: acceptMsg}))
	}
	if l != nil {
		runs = append(runs, miekgRun("tcp", l.Close, r.tcpServer(network, l, h)))
	}
	stopped := make(chan struct{}, len(runs))
	for _, rn := range runs {
		rn.done = make(chan struct{})
		go func() {
			rn.err = rn.serve()
			close(rn.done)
			stopped <- struct{}{}
		}()
	}
	select {
	case <-ctx.Done():
	case <-stopped:
	}
	var first error
	for _, rn := range runs {
		rn.shutdown(rn.done)
		<-rn.done
		_ = rn.close() // a server that fails early leaves it open
		if rn.err != nil && !errors.Is(rn.err, net.ErrClosed) && first == nil {
			first = fmt.Errorf("dns: serve %s %s: %w", network, rn.proto, rn.err)
		}
	}
	return first
}

// run is one server of Serve: serve until stopped; shutdown stops it (done
// is closed once serve returned) and waits for its queries in hand.
type run struct {
	proto    string
	close    func() error
	serve    func() error
	shutdown func(done <-chan struct{})
	done     chan struct{}
	err      error
}

// miekgRun runs a miekg server.
func miekgRun(proto string, closeSock func() error, srv *dns.Server) *run {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	return &run{proto: proto, close: closeSock, serve: srv.ActivateAndServe, shutdown: func(done <-chan struct{}) {
		select {
		case <-started:
			// Also right for a server that already failed: it is still
			// marked started, and ShutdownContext returns at once.
			_ = srv.ShutdownContext(context.Background())
		case <-done: // failed before it started
		}
	}}
}

// acceptMsg lets every request through to the handler, which answers
// FORMERR and NOTIMP itself (with EDNS), and drops responses.
func acceptMsg(dh dns.Header) dns.MsgAcceptAction {
	if dh.Bits&flagQR != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}
