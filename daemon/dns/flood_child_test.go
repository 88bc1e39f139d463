package dns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestResolverFloodChild is the flooding client of TestResolverFlood, run
// in a child process; alone it does nothing.
func TestResolverFloodChild(t *testing.T) {
	udp, tcp := os.Getenv("QN_DNS_FLOOD_UDP"), os.Getenv("QN_DNS_FLOOD_TCP")
	if udp == "" || tcp == "" {
		t.Skip("the child of TestResolverFlood")
	}
	conns := make([]net.Conn, 0, floodTCP)
	for range floodTCP {
		c, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	closed := tcpClosed(conns)
	res := udpFlood(t, udp)
	res.tcpClosed = closed
	for _, c := range conns {
		c.Close()
	}
	fmt.Printf("FLOOD %d %d %d %d %d\n", res.servfail, res.refused, res.other, res.silent, res.tcpClosed)
}

// tcpClosed counts the connections the server closed within a short while.
func tcpClosed(conns []net.Conn) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// udpFlood sends floodUDP queries from 20 sockets over about 1.5 s and
// counts the answers by rcode.
func udpFlood(t *testing.T, addr string) floodResult {
	const senders = 20
	var (
		mu  sync.Mutex
		res floodResult
		wg  sync.WaitGroup
	)
	for range senders {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := 0
		wg.Add(1)
		go func() { // reader
			defer wg.Done()
			buf := make([]byte, 1500)
			for got < floodUDP/senders {
				c.SetReadDeadline(time.Now().Add(4 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				m := new(dns.Msg)
				if m.Unpack(buf[:n]) != nil {
					continue
				}
				got++
				mu.Lock()
				switch m.Rcode {
				case dns.RcodeServerFailure:
					res.servfail++
				case dns.RcodeRefused:
					res.refused++
				default:
					res.other++
				}
				mu.Unlock()
			}
			mu.Lock()
			res.silent += floodUDP/senders - got
			mu.Unlock()
		}()
		go func() { // writer
			for i := range floodUDP / senders {
				m := query(fmt.Sprintf("q%d.blackhole.example.", i), dns.TypeA, 0, false)
				b, _ := m.Pack()
				c.Write(b)
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return res
}
