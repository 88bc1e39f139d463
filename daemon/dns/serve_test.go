package dns

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// listenBoth opens a UDP socket and a TCP listener on loopback, closed
// when the test ends.
func listenBoth(t *testing.T) (net.PacketConn, net.Listener) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	return pc, l
}

// stopCase is one way Serve is stopped.
type stopCase struct {
	name string
	udp  bool // serve UDP
	tcp  bool // serve TCP
	// stop stops Serve, given its cancel and sockets.
	stop func(cancel context.CancelFunc, pc net.PacketConn, l net.Listener)
}

var stopCases = []stopCase{
	{name: "cancel", udp: true, tcp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
	{name: "cancel, UDP only", udp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
	{name: "cancel, TCP only", tcp: true, stop: func(cancel context.CancelFunc, _ net.PacketConn, _ net.Listener) { cancel() }},
	{name: "sockets closed", udp: true, tcp: true, stop: func(_ context.CancelFunc, pc net.PacketConn, l net.Listener) {
		pc.Close()
		l.Close()
	}},
	{name: "UDP socket closed stops TCP too", udp: true, tcp: true, stop: func(_ context.CancelFunc, pc net.PacketConn, _ net.Listener) {
		pc.Close()
	}},
}

// queryServing checks Serve answers on the sockets of tc and returns the
// TCP connection it leaves open and idle (nil without TCP); the caller
// closes it.
func queryServing(t *testing.T, tc stopCase, pc net.PacketConn, l net.Listener) *dns.Conn {
	t.Helper()
	req := query("web1.quantix.local.", dns.TypeA, 0, false)
	if tc.udp {
		exchange(t, "udp", pc.LocalAddr().String(), req)
	}
	if !tc.tcp {
		return nil
	}
	co, err := (&dns.Client{Net: "tcp"}).Dial(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := co.WriteMsg(req); err != nil {
		co.Close()
		t.Fatal(err)
	}
	co.SetReadDeadline(time.Now().Add(clientTimeout))
	if _, err := co.ReadMsg(); err != nil {
		co.Close()
		t.Fatal(err)
	}
	return co
}

// serveReturned waits up to 2 s for Serve's result on done, an error
// failing the test; it is false if Serve did not return.
func serveReturned(t *testing.T, done <-chan error) bool {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v, want nil", err)
		}
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}

// checkStopped waits for Serve to return nil and checks it closed the
// sockets it served.
func checkStopped(t *testing.T, tc stopCase, done <-chan error, pc net.PacketConn, l net.Listener) {
	t.Helper()
	if !serveReturned(t, done) {
		t.Fatal("Serve did not return")
	}
	if tc.udp {
		if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("UDP socket after Serve: %v, want closed", err)
		}
	}
	if tc.tcp {
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("TCP listener after Serve: %v, want closed", err)
		}
	}
}

func TestServeStops(t *testing.T) {
	for _, tc := range stopCases {
		t.Run(tc.name, func(t *testing.T) {
			pc, l := listenBoth(t)
			var spc net.PacketConn
			var sl net.Listener
			if tc.udp {
				spc = pc
			}
			if tc.tcp {
				sl = l
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- (&Resolver{}).Serve(ctx, "net1", spc, sl, static(testRecords())) }()

			// Serving, with an idle TCP connection open at the stop.
			if co := queryServing(t, tc, pc, l); co != nil {
				defer co.Close()
			}

			tc.stop(cancel, pc, l)
			checkStopped(t, tc, done, pc, l)
		})
	}
	t.Run("no socket", func(t *testing.T) {
		if err := (&Resolver{}).Serve(context.Background(), "net1", nil, nil, static(nil)); err == nil {
			t.Error("Serve without sockets: nil error")
		}
	})
}
