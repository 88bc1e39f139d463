package northsouth_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// container is a network namespace attached to a network by a host's
// daemon through the CNI plugin binary (harness.Container).
type container = harness.Container

// newContainer attaches a new container on host h to network; it is
// detached (CNI DEL) and removed when the test ends, or by Del.
func newContainer(t *testing.T, h, name, network string) *container {
	t.Helper()
	return harness.NewContainer(t, env.Bin, daemons[h], h, "qnns", name, network)
}

var ttlRE = regexp.MustCompile(`ttl=(\d+)`)

// unreachable waits (10 s) until c no longer pings addr; msg says what
// failed otherwise.
func unreachable(t *testing.T, c *container, addr, msg string) {
	t.Helper()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		_, err := c.Run("ping", "-c", "1", "-W", "1", addr)
		return err != nil
	}, msg)
}

// pingTTL pings addr from namespace ns until it answers (timeout) and
// returns the TTL of the reply.
func pingTTL(t *testing.T, ns, addr string, timeout time.Duration) int {
	t.Helper()
	var out []byte
	ovsdbtest.Eventually(t, timeout, func() bool {
		var err error
		out, err = exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr).CombinedOutput()
		return err == nil
	}, fmt.Sprintf("%s does not reach %s", ns, addr))
	m := ttlRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no TTL in: %s", out)
	}
	ttl, _ := strconv.Atoi(string(m[1]))
	return ttl
}

// tcpServer is a Python TCP server in a namespace that answers every
// connection with the peer's address (what the server sees as the source).
const tcpServer = `import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("listening", flush=True)
while True:
    c, a = s.accept()
    c.sendall((a[0] + "\n").encode())
    c.close()
`

// tcpClient connects, prints what the server sent and exits.
const tcpClient = `import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
print(c.recv(256).decode().strip())
`

// serveTCP starts the source-reporting server in namespace ns on port; it
// stops when the test ends.
func serveTCP(t *testing.T, ns string, port int) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "python3", "-c", tcpServer, "0.0.0.0", strconv.Itoa(port))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening") {
		t.Fatalf("TCP server in %s: %q %v", ns, line, err)
	}
}

// tcpSource connects from namespace ns to addr:port until it succeeds
// (timeout) and returns the source address the server saw.
func tcpSource(t *testing.T, ns, addr string, port int, timeout time.Duration) string {
	t.Helper()
	var out []byte
	ovsdbtest.Eventually(t, timeout, func() bool {
		var err error
		out, err = exec.Command("ip", "netns", "exec", ns, "python3", "-c", tcpClient, addr, strconv.Itoa(port), "2").CombinedOutput()
		return err == nil
	}, fmt.Sprintf("no TCP connection from %s to %s:%d", ns, addr, port))
	return strings.TrimSpace(string(out))
}

// pingStream pings a target every interval from a namespace, with
// timestamps, until stop.
type pingStream struct {
	cmd *exec.Cmd
	out strings.Builder
}

func startPings(t *testing.T, ns, target string, interval time.Duration) *pingStream {
	t.Helper()
	p := &pingStream{}
	p.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-D", "-i", fmt.Sprintf("%.3f", interval.Seconds()), "-W", "1", target)
	p.cmd.Stdout = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

var replyRE = regexp.MustCompile(`(?m)^\[(\d+\.\d+)\] \d+ bytes from`)

// stop ends the stream; it returns the packets sent and lost, and the
// first reply after the outage: the end of the longest gap between replies
// that ends after since (replies in flight at since do not count; zero:
// no reply after since).
func (p *pingStream) stop(since time.Time) (sent, lost int, first time.Time) {
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	out := p.out.String()
	var prev time.Time
	var gap time.Duration
	for _, m := range replyRE.FindAllStringSubmatch(out, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		ts := time.Unix(0, int64(f*1e9))
		if ts.After(since) && !prev.IsZero() && ts.Sub(prev) > gap {
			gap, first = ts.Sub(prev), ts
		}
		prev = ts
	}
	var recv int
	if m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(out); m != nil {
		sent, _ = strconv.Atoi(m[1])
		recv, _ = strconv.Atoi(m[2])
	}
	return sent, sent - recv, first
}

// nbRows lists the rows of an NB or SB table (tool ovn-nbctl or ovn-sbctl).
func nbRows(t *testing.T, tool, table string) []string {
	t.Helper()
	db := nh.Vars["QN_NB_REMOTE"]
	if tool == "ovn-sbctl" {
		db = nh.Vars["QN_SB_REMOTE"]
	}
	out, err := exec.Command(tool, "--db="+db, "--bare", "--columns=_uuid", "list", table).CombinedOutput()
	if err != nil {
		t.Fatalf("%s list %s: %v %s", tool, table, err, out)
	}
	return strings.Fields(string(out))
}

// vsctl runs ovs-vsctl on host h's OVS.
func vsctl(h string, args ...string) string {
	out, _ := exec.Command("ovs-vsctl", append([]string{"--db=" + nh.Var("QN_OVS_REMOTE_", h)}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// decode is json.Unmarshal failing the test.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}
