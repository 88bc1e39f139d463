package harness

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
)

// InNS runs f with the calling thread in the network namespace at path (a
// socket made there stays in it).
func InNS(path string, f func() error) error {
	n, err := ns.GetNS(path)
	if err != nil {
		return err
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error { return f() })
}

// NsPath is the path of the namespace named (or at) name.
func NsPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/var/run/netns/" + name
}

// DialTCP opens a TCP connection to addr:port from the namespace at (or
// named) nsName within timeout, and returns it with how long the
// connection setup (the handshake) took.
func DialTCP(nsName, addr string, port int, timeout time.Duration) (net.Conn, time.Duration, error) {
	var c net.Conn
	var took time.Duration
	err := InNS(NsPath(nsName), func() (err error) {
		start := time.Now()
		c, err = net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), timeout)
		took = time.Since(start)
		return err
	})
	return c, took, err
}

// TCPLine connects to addr:port from the namespace nsName and returns the
// first line the server sends (a banner, a guest's answer).
func TCPLine(nsName, addr string, port int, timeout time.Duration) (string, error) {
	c, _, err := DialTCP(nsName, addr, port, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(timeout))
	l, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}
