package harness

import (
	"net"
	"strconv"
	"testing"
)

// ListenTCP listens on port (every address of family network: "tcp4" or
// "tcp6") in the namespace at (or named) nsName.
func ListenTCP(nsName, network string, port int) (net.Listener, error) {
	var l net.Listener
	err := InNS(NsPath(nsName), func() (err error) { l, err = net.Listen(network, ":"+strconv.Itoa(port)); return err })
	return l, err
}

// AcceptLoop calls handle with every connection accepted on l until l is
// closed; handle runs in the accepting goroutine (it starts its own for
// a long exchange). Run it with go.
func AcceptLoop(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		handle(c)
	}
}

// ServeTCPAnswer writes answer to every IPv4 TCP connection on port in the
// namespace at (or named) nsName and closes it, until the test ends.
func ServeTCPAnswer(t testing.TB, nsName string, port int, answer string) {
	t.Helper()
	l, err := ListenTCP(nsName, "tcp4", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go AcceptLoop(l, func(c net.Conn) {
		c.Write([]byte(answer))
		c.Close()
	})
}
