// Package ovsdbtest starts a real, private ovsdb-server for integration
// tests: a fresh database created from a schema in a temporary directory,
// served on a unix socket, killed when the test ends. It starts in
// milliseconds, so every test can have its own.
//
// NewNB, NewSB and NewOVS serve the installed schemas of the three
// databases; connected clients with seeded rows come from pkg/ovn/ovntest
// and pkg/ovs/ovstest (this package imports neither client, so that their
// own tests can use it). Eventually is the tests' one polling helper.
//
// Without ovsdb-server/ovsdb-tool or a schema installed the calling test is
// skipped, unless CI=true, where it fails: CI must run these tests.
// QN_SKIP_INTEGRATION=1 (make test-unit) and -short skip them explicitly.
package ovsdbtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long ovsdb-server may take to accept on its socket.
const startTimeout = 10 * time.Second

// The schemas of the three databases QuantumNet talks to, as the OVS and
// OVN packages install them: what the sandbox, the deployments and the
// tests serve. This is the one place that knows their paths (the copies
// next to the generated models are what `make generate` reads).
const (
	NBSchema  = "/usr/share/ovn/ovn-nb.ovsschema"
	SBSchema  = "/usr/share/ovn/ovn-sb.ovsschema"
	OVSSchema = "/usr/share/openvswitch/vswitch.ovsschema"
)

// NewNB starts a private OVN Northbound database (empty, as ovn-northd's
// first start finds it).
func NewNB(t testing.TB) *Server {
	t.Helper()
	s := New(t, requireSchema(t, NBSchema))
	s.Tool = "ovn-nbctl"
	return s
}

// NewSB starts a private OVN Southbound database (empty).
func NewSB(t testing.TB) *Server {
	t.Helper()
	s := New(t, requireSchema(t, SBSchema))
	s.Tool = "ovn-sbctl"
	return s
}

// NewOVS starts a private Open_vSwitch database with its root row, as
// `ovs-vsctl init` (what the Debian service does at first start) leaves it.
func NewOVS(t testing.TB) *Server {
	t.Helper()
	s := New(t, requireSchema(t, OVSSchema))
	s.Tool = "ovs-vsctl"
	s.Run("ovs-vsctl", "--db="+s.Remote, "--no-wait", "--timeout=5", "init")
	return s
}

// requireSchema returns path when the schema is installed; otherwise the
// test is skipped, or fails when CI=true, as for a missing program.
func requireSchema(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, path+" is not installed (apt-get install openvswitch-common ovn-common, or make deps)")
	}
	return path
}

// Server is one ovsdb-server child process serving one database file.
type Server struct {
	// Remote is the OVSDB remote of the server ("unix:/tmp/qn.../db.sock"),
	// usable by libovsdb and as --db= of ovs-vsctl / ovn-nbctl.
	Remote string
	// Socket, Control, DB and Log are the paths of the server's socket,
	// unixctl socket, database file and log file.
	Socket, Control, DB, Log string
	// Tool is the database's command-line client (ovn-nbctl, ovn-sbctl or
	// ovs-vsctl) when NewNB, NewSB or NewOVS started it: what Rows and Row
	// read with.
	Tool string

	t      testing.TB
	binary string
	args   []string // more ovsdb-server arguments (NewSSL's)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts an ovsdb-server on a fresh database created from schemaPath
// and returns its remote. The server is killed when the test ends.
func Start(t testing.TB, schemaPath string) (remote string) {
	t.Helper()
	return New(t, schemaPath).Remote
}

// New is Start returning the Server, for tests that stop and restart it.
func New(t testing.TB, schemaPath string) *Server {
	t.Helper()
	s := create(t, schemaPath)
	s.Start()
	return s
}

// create makes the database of a Server without starting it.
func create(t testing.TB, schemaPath string) *Server {
	t.Helper()
	return createWith(t, schemaPath, func(db, schema string) []string { return []string{"create", db, schema} })
}

// createWith is create with the ovsdb-tool arguments that make the file
// (create-cluster / join-cluster for a cluster member).
func createWith(t testing.TB, schemaPath string, toolArgs func(db, schema string) []string) *Server {
	t.Helper()
	server, tool := Require(t, "ovsdb-server"), Require(t, "ovsdb-tool")
	schema, err := filepath.Abs(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(schema); err != nil {
		t.Fatalf("ovsdbtest: schema: %v", err)
	}
	dir := t.TempDir()
	sockDir := shortDir(t, dir)
	s := &Server{
		Remote:  "unix:" + filepath.Join(sockDir, "db.sock"),
		Socket:  filepath.Join(sockDir, "db.sock"),
		Control: filepath.Join(sockDir, "db.ctl"),
		DB:      filepath.Join(dir, "db"),
		Log:     filepath.Join(dir, "ovsdb-server.log"),
		t:       t,
		binary:  server,
	}
	if out, err := exec.Command(tool, toolArgs(s.DB, schema)...).CombinedOutput(); err != nil {
		t.Fatalf("ovsdbtest: ovsdb-tool %v: %v\n%s", toolArgs(s.DB, schema), err, out)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ovsdbtest: tail of %s:\n%s", s.Log, tail(s.Log, 40))
		}
	})
	return s
}

// Require returns the path of a program the integration tests need. When
// it is missing the test is skipped, or fails when CI=true.
func Require(t testing.TB, program string) string {
	t.Helper()
	if os.Getenv("QN_SKIP_INTEGRATION") == "1" {
		t.Skip("QN_SKIP_INTEGRATION=1: skipping a test that needs a real " + program)
	}
	if testing.Short() {
		t.Skip("-short: skipping a test that needs a real " + program)
	}
	if p, err := LookPath(program); err == nil {
		return p
	}
	missing(t, program+" is not installed (apt-get install openvswitch-switch ovn-central, or make deps)")
	return ""
}

// LookPath finds an installed program on PATH or in the sbin directories
// (ovsdb-server lives in /usr/sbin, often not in an unprivileged PATH).
func LookPath(program string) (string, error) {
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, program)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (make deps)", program)
}

// missing skips the test for what the machine lacks, or fails it when
// CI=true: CI must run every test.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("QN_SKIP_INTEGRATION") == "1" {
		t.Skip("QN_SKIP_INTEGRATION=1: " + msg)
	}
	if testing.Short() {
		t.Skip("-short: " + msg)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and " + msg + ": CI must run the integration tests")
	}
	t.Skip(msg + ": skipping integration test")
}

// shortDir returns a directory for unix sockets, whose paths must stay under
// ~107 bytes: dir itself when short enough, else a fresh one under $TMPDIR
// or /tmp, removed at the end of the test.
func shortDir(t testing.TB, dir string) string {
	const limit = 100 - len("/db.sock")
	if len(dir) <= limit {
		return dir
	}
	for _, base := range []string{"", "/tmp"} {
		d, err := os.MkdirTemp(base, "qn")
		if err != nil {
			continue
		}
		if len(d) > limit {
			os.RemoveAll(d)
			continue
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	t.Fatalf("ovsdbtest: no temporary directory short enough for a unix socket (TMPDIR=%q)", os.Getenv("TMPDIR"))
	return ""
}

// Start (re)starts the server on the same database file and socket, and
// waits until the socket accepts. Starting a running server is a test bug.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("ovsdbtest: Start: the server is already running")
	}
	// --remote serves the socket, --unixctl keeps the control socket out of
	// /var/run, no --pidfile and no --detach: the test owns the process.
	// jsonrpc debug logging records every request (see Requests).
	args := append([]string{s.DB, "--remote=punix:" + s.Socket, "--unixctl=" + s.Control, "--no-chdir",
		"--log-file=" + s.Log, "-vconsole:off", "-vfile:info", "-vjsonrpc:file:dbg"}, s.args...)
	cmd := exec.Command(s.binary, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	// Die with the test binary even if it is killed before its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("ovsdbtest: start ovsdb-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.Dial("unix", s.Socket)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("ovsdbtest: ovsdb-server exited at start: %v\n%s\n%s", cmd.ProcessState, stderr.String(), tail(s.Log, 20))
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			s.cmd = nil
			s.t.Fatalf("ovsdbtest: ovsdb-server does not accept on %s after %v: %v\n%s", s.Socket, startTimeout, err, tail(s.Log, 20))
		}
	}
}

// Stop terminates the server (SIGTERM, SIGKILL after 5 s) and waits for it
// to exit. Its clients see their connection drop. Stopping a stopped server
// does nothing.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill kills the server with SIGKILL, as a crash or the OOM killer would:
// it has no chance to tell its clients anything. Start restarts it.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Requests counts the JSON-RPC requests with the given method ("transact",
// "monitor_cond_since", ...) the server has received since its first start.
// A request is logged when received, so every request whose reply a client
// has seen is counted.
func (s *Server) Requests(method string) int {
	s.t.Helper()
	f, err := os.Open(s.Log)
	if err != nil {
		s.t.Fatalf("ovsdbtest: %v", err)
	}
	defer f.Close()
	needle := `received request, method="` + method + `"`
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		s.t.Fatalf("ovsdbtest: read %s: %v", s.Log, err)
	}
	return n
}

// Run runs a command-line client of the database (ovs-vsctl, ovn-nbctl,
// ovsdb-client ...) with args, and returns its trimmed stdout; a failure
// fails the test. Put --db=s.Remote (or s.Remote for ovsdb-client) in args.
func (s *Server) Run(program string, args ...string) string {
	s.t.Helper()
	out, err := s.TryRun(program, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// TryRun is Run returning the error instead of failing the test.
func (s *Server) TryRun(program string, args ...string) (string, error) {
	s.t.Helper()
	path := Require(s.t, program)
	cmd := exec.Command(path, args...)
	// Keep the tools' own pid/ctl/log files out of the system's run dirs.
	dir := filepath.Dir(s.Socket)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVN_RUNDIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", program, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Row is one database row as ovs-vsctl / ovn-nbctl show it: a column's
// value is a string (an atom, UUIDs included), a []string (a set) or a
// map[string]string (a map).
type Row map[string]any

// Find returns the rows of table matching conditions, read by tool
// ("ovs-vsctl" or "ovn-nbctl", which share the syntax: "name=tap1",
// "external_ids:k=v"), with the given columns: an observer of the database
// independent of the client under test.
func (s *Server) Find(tool, table string, columns []string, conditions ...string) []Row {
	s.t.Helper()
	args := append([]string{"--db=" + s.Remote, "--timeout=10", "--format=json",
		"--columns=" + strings.Join(columns, ","), "find", table}, conditions...)
	out := s.Run(tool, args...)
	var tbl struct {
		Data     [][]any  `json:"data"`
		Headings []string `json:"headings"`
	}
	if err := json.Unmarshal([]byte(out), &tbl); err != nil {
		s.t.Fatalf("%s find %s: %v\n%s", tool, table, err, out)
	}
	var rows []Row
	for _, d := range tbl.Data {
		r := Row{}
		for i, h := range tbl.Headings {
			r[h] = decode(d[i])
		}
		rows = append(rows, r)
	}
	return rows
}

// Rows is Find with the server's own Tool.
func (s *Server) Rows(table string, columns []string, conditions ...string) []Row {
	s.t.Helper()
	return s.Find(s.Tool, table, columns, conditions...)
}

// Row is FindOne with the server's own Tool.
func (s *Server) Row(table string, columns []string, conditions ...string) Row {
	s.t.Helper()
	return s.FindOne(s.Tool, table, columns, conditions...)
}

// FindOne is Find expecting exactly one row.
func (s *Server) FindOne(tool, table string, columns []string, conditions ...string) Row {
	s.t.Helper()
	rows := s.Find(tool, table, columns, conditions...)
	if len(rows) != 1 {
		s.t.Fatalf("%s %v: %d rows in the database, want 1: %v", table, conditions, len(rows), rows)
	}
	return rows[0]
}

// decode turns an OVSDB JSON datum into a string, []string or map[string]string.
func decode(v any) any {
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		return fmt.Sprint(v)
	}
	switch a[0] {
	case "uuid", "named-uuid":
		return fmt.Sprint(a[1])
	case "set":
		out := []string{}
		for _, e := range a[1].([]any) {
			out = append(out, fmt.Sprint(decode(e)))
		}
		return out
	case "map":
		out := map[string]string{}
		for _, kv := range a[1].([]any) {
			p := kv.([]any)
			out[fmt.Sprint(decode(p[0]))] = fmt.Sprint(decode(p[1]))
		}
		return out
	}
	return fmt.Sprint(v)
}

// Set returns column c as a set (an atom is a set of one, an empty
// optional value an empty set).
func (r Row) Set(c string) []string {
	switch v := r[c].(type) {
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

// Map returns column c as a map.
func (r Row) Map(c string) map[string]string {
	m, _ := r[c].(map[string]string)
	return m
}

// Str returns column c as a string ("" for an empty optional value).
func (r Row) Str(c string) string {
	if s, ok := r[c].(string); ok {
		return s
	}
	if s := r.Set(c); len(s) == 1 {
		return s[0]
	}
	if s := r.Set(c); s != nil && len(s) == 0 {
		return ""
	}
	return fmt.Sprint(r[c])
}

// Logger returns a logger for the clients under test that keeps its output
// in memory and prints it only when the test fails (clients log from
// background goroutines, possibly after the test has ended).
func Logger(t testing.TB) *slog.Logger {
	b := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Eventually polls cond until it is true, failing the test with msg after
// timeout. For what another connection or process changed: a client's cache
// follows the database asynchronously. It is the tests' one polling helper
// (Until is the same loop for programs that have no testing.TB).
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if !Until(context.Background(), timeout, cond) {
		t.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
	}
}

// NoPanic runs f, turning a panic into a test error (and an error
// returned): a client must not panic on what a server or a row gives it.
func NoPanic(t testing.TB, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("panic: %v", r)
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	return f()
}

// Context is a context that times out after d and is cancelled when the
// test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Until polls cond until it is true and reports whether it became true
// before timeout or the end of ctx. It polls every 10 ms for the first
// second, then every 50 ms (what it waits for then is a process or a
// packet, and every poll costs CPU the system under test needs).
func Until(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	every := 10 * time.Millisecond
	for start := time.Now(); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		if time.Since(start) > time.Second {
			every = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
	return true
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log file)"
		}
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 300 { // jsonrpc debug lines carry whole schemas
			lines[i] = l[:300] + "..."
		}
	}
	return strings.Join(lines, "\n")
}
