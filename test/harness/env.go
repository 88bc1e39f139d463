package harness

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// Setup says what a test package or a benchmark needs and how to bring
// its world up.
type Setup struct {
	// Name names the package in messages and temporary directories ("e2e").
	Name string
	// Root: the package needs root (network namespaces, OVS, libvirt).
	Root bool
	// Programs must be installed (ovn-controller, libvirtd, ...).
	Programs []string
	// Check reports a further unmet requirement ("" when met), checked
	// after Root and Programs: a libvirtd already running, say.
	Check func() string
	// Binaries are the binaries to build (file names of Binaries); nil is
	// all of them.
	Binaries []string
	// Prebuilt is a directory holding the Binaries already built (make
	// build's bin/), used instead of building them.
	Prebuilt string
	// Up brings the world up once the binaries are built (a sandbox, a
	// hook); it registers what takes it down with Env.Cleanup.
	Up func(e *Env) error
	// Locks name host-wide things the package changes and another
	// package running at the same time (go test runs packages in
	// parallel) would see: LockSystemLibvirt, say. Each is an exclusive
	// flock held from before the build until Close.
	Locks []string
}

// LockSystemLibvirt is the lock of the host's /etc/libvirt/hooks (and the
// libvirtd that runs them): test/vm installs its hook there, test/pkg's
// package installs and purges its own.
const LockSystemLibvirt = "/tmp/qn-system-libvirt.lock"

// Env is a prepared Setup: the repository, the binaries, and what Up
// registered to undo.
type Env struct {
	Setup
	// Repo is the repository root, Tmp a directory removed at Close, Bin
	// the directory holding the binaries (Tmp/bin).
	Repo, Tmp, Bin string
	// Keep keeps Tmp at Close (logs, databases), as QN_KEEP_TMP=1 does.
	Keep bool

	skip     string // why the package's tests skip ("" when they run)
	mu       sync.Mutex
	cleanups []func()
}

// New returns the Env of s, not started: a package variable, so that the
// tests see what TestMain prepared.
//
//	var env = harness.New(harness.Setup{Name: "e2e", Root: true, Programs: []string{"ovn-controller"}, Up: ...})
//	func TestMain(m *testing.M) { os.Exit(env.Run(m)) }
func New(s Setup) *Env { return &Env{Setup: s, Repo: Repo()} }

// Run is the one TestMain: with -short or an unmet requirement the tests
// run and skip themselves (Require), except under CI=true, where an unmet
// requirement fails the package; otherwise it builds the binaries once,
// brings the world up, runs the tests and takes everything down.
func (e *Env) Run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		e.skip = "-short"
		return m.Run()
	}
	if e.skip = e.missing(); e.skip != "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "%s: under CI=true these tests must run: %s\n", e.Name, e.skip)
			return 1
		}
		return m.Run()
	}
	if err := e.start(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", e.Name, err)
		e.Close()
		return 1
	}
	code := m.Run()
	e.Close()
	return code
}

// Start prepares the Env for a program (a benchmark): an unmet requirement
// is an error. Close undoes it, also after an error.
func (e *Env) Start() error {
	if e.skip = e.missing(); e.skip != "" {
		return errors.New(e.skip)
	}
	return e.start()
}

func (e *Env) start() error {
	var err error
	for _, path := range e.Locks {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		e.Cleanup(func() { f.Close() })
	}
	if e.Tmp, err = os.MkdirTemp("", "qn"+e.Name); err != nil {
		return err
	}
	// DELs recorded while a daemon is down (the CNI plugin's pending-del
	// records) stay in this run: the plugins and daemons it starts inherit
	// the environment, and the host's default directory is left alone.
	if os.Getenv(api.PendingDelDirEnv) == "" {
		os.Setenv(api.PendingDelDirEnv, filepath.Join(e.Tmp, "pending-del"))
	}
	if e.Prebuilt != "" {
		if e.Bin, err = filepath.Abs(e.Prebuilt); err != nil {
			return err
		}
		for _, name := range e.binaries() {
			if _, err := os.Stat(filepath.Join(e.Bin, name)); err != nil {
				return fmt.Errorf("%s missing (run make build): %w", filepath.Join(e.Bin, name), err)
			}
		}
	} else {
		e.Bin = filepath.Join(e.Tmp, "bin")
		if err := Build(e.Bin, e.Binaries...); err != nil {
			return err
		}
	}
	if e.Up != nil {
		return e.Up(e)
	}
	return nil
}

// binaries are the file names of the binaries the Env needs.
func (e *Env) binaries() []string {
	if len(e.Binaries) > 0 {
		return e.Binaries
	}
	var all []string
	for _, name := range Binaries {
		all = append(all, name)
	}
	return all
}

// missing is the first unmet requirement, "" when all are met.
func (e *Env) missing() string {
	if e.Root && os.Geteuid() != 0 {
		return e.Name + " needs root"
	}
	for _, p := range e.Programs {
		if _, err := exec.LookPath(p); err != nil {
			return p + " is not installed (scripts/deps.sh --with-libvirt)"
		}
	}
	if e.Check != nil {
		return e.Check()
	}
	return ""
}

// Require skips the test when TestMain could not prepare the world (-short,
// an unmet requirement outside CI).
func (e *Env) Require(t testing.TB) {
	t.Helper()
	if e.skip != "" {
		t.Skip(e.Name + ": " + e.skip)
	}
}

// Cleanup registers f to run at Close, the last registered first.
func (e *Env) Cleanup(f func()) {
	e.mu.Lock()
	e.cleanups = append(e.cleanups, f)
	e.mu.Unlock()
}

// Close runs the cleanups and removes Tmp. Closing twice does nothing more.
func (e *Env) Close() {
	e.mu.Lock()
	fns := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	if e.Tmp != "" && !e.Keep && os.Getenv("QN_KEEP_TMP") != "1" {
		os.RemoveAll(e.Tmp)
	}
}

// Script runs scripts/name with args and the extra environment, and
// returns its combined output.
func (e *Env) Script(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(e.Repo, "scripts", name), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("scripts/%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// ParseEnv reads the `export K=V` lines a script prints (sandbox.sh env,
// twohost.sh env, test-guest.sh env) into m.
func ParseEnv(out string, m map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "export "), "="); ok && k != "" && !strings.ContainsAny(k, " \t") {
			m[k] = strings.ReplaceAll(strings.Trim(v, `'"`), `\`, "")
		}
	}
	return m
}
