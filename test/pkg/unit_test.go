package pkg_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// verifyUnit runs systemd-analyze verify on a unit file and fails t on a
// non-zero exit or on anything it says (unknown keys are only warnings).
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
}

// TestUnitVerifies installs with a PREFIX in a temporary directory (so the
// unit's ExecStart names a binary that exists) and verifies the unit; a
// unit with a bad key or a missing binary must fail the same check.
func TestUnitVerifies(t *testing.T) {
	env.Require(t)
	dir := t.TempDir()
	cmd := exec.Command("scripts/package/stage.sh", "", dir, env.Bin)
	cmd.Dir = env.Repo
	cmd.Env = append(os.Environ(), "SYSCONFDIR="+dir+"/etc", "CNI_LINK_DIR="+dir+"/opt/cni/bin", "LIBVIRT_HOOKS_DIR="+dir+"/etc/libvirt/hooks")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stage.sh: %v\n%s", err, out)
	}
	unit := filepath.Join(dir, "lib/systemd/system/quantumnetd.service")
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ExecStart="+dir+"/sbin/quantumnetd -config "+dir+"/etc/quantumnet/quantumnetd.toml\n") {
		t.Fatalf("ExecStart does not follow PREFIX and SYSCONFDIR %s:\n%s", dir, b)
	}
	for _, want := range []string{"Type=notify", "Restart=on-failure", "RuntimeDirectory=quantumnet", "After=network-online.target openvswitch-switch.service ovn-controller.service"} {
		if !strings.Contains(string(b), want+"\n") && !strings.Contains(string(b), want+" ") {
			t.Errorf("unit lacks %q", want)
		}
	}
	verifyUnit(t, unit)

	// The check can fail.
	bad := filepath.Join(t.TempDir(), "quantumnetd.service")
	for _, edit := range [][2]string{
		{"Restart=on-failure", "Restart=on-failure\nRestartEvery=1"},
		{dir + "/sbin/quantumnetd", dir + "/sbin/missing"},
	} {
		os.WriteFile(bad, []byte(strings.Replace(string(b), edit[0], edit[1], 1)), 0o644)
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", bad).CombinedOutput()
		if err == nil && len(out) == 0 {
			t.Errorf("verify passed a unit with %q", edit[1])
		}
	}
}

// TestInstallMatchesPackage: make install DESTDIR=... PREFIX=/usr installs
// exactly the files, links and modes of the package.
func TestInstallMatchesPackage(t *testing.T) {
	env.Require(t)
	dest := t.TempDir()
	if _, err := makeIn(env, "install", "DESTDIR="+dest, "PREFIX=/usr"); err != nil {
		t.Fatal(err)
	}
	var installed []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dest {
			return err
		}
		info, _ := os.Lstat(p)
		installed = append(installed, entry(strings.TrimPrefix(p, dest), info.Mode(), func() string { l, _ := os.Readlink(p); return l }))
		return nil
	})
	slices.Sort(installed)
	packaged := debContents(t, deb)
	if !slices.Equal(installed, packaged) {
		t.Errorf("make install and the package differ:\ninstall:\n  %s\npackage:\n  %s",
			strings.Join(installed, "\n  "), strings.Join(packaged, "\n  "))
	}
	for _, must := range []string{"/usr/sbin/quantumnetd", "/usr/bin/qnetctl", "/usr/lib/cni/quantumnet",
		"/opt/cni/bin/quantumnet", "/etc/libvirt/hooks/qemu.d/quantumnet", "/usr/lib/systemd/system/quantumnetd.service",
		"/etc/quantumnet/quantumnetd.toml", "/usr/share/doc/quantumnet/examples/10-quantumnet.conflist"} {
		if !slices.ContainsFunc(packaged, func(e string) bool { return strings.HasPrefix(e, must+" ") }) {
			t.Errorf("the package lacks %s", must)
		}
	}
	// Once qnetctl generates them, completions and man pages are in.
	if exec.Command(filepath.Join(env.Bin, "qnetctl"), "completion", "bash").Run() == nil {
		for _, must := range []string{"/usr/share/bash-completion/completions/qnetctl", "/usr/share/zsh/vendor-completions/_qnetctl",
			"/usr/share/fish/vendor_completions.d/qnetctl.fish", "/usr/share/man/man1/qnetctl.1.gz"} {
			if !slices.ContainsFunc(packaged, func(e string) bool { return strings.HasPrefix(e, must+" ") }) {
				t.Errorf("the package lacks %s", must)
			}
		}
	}

	// make uninstall leaves the config only.
	if _, err := makeIn(env, "uninstall", "DESTDIR="+dest, "PREFIX=/usr"); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, strings.TrimPrefix(p, dest))
		}
		return err
	})
	if want := []string{"/etc/quantumnet/quantumnetd.toml"}; !slices.Equal(left, want) {
		t.Errorf("after make uninstall: %q, want %q", left, want)
	}
}

// entry is one line of a file list: path, type and permissions, a link's
// target.
func entry(path string, mode fs.FileMode, target func() string) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		return path + " -> " + target()
	case mode.IsDir():
		return path + "/ " + mode.Perm().String()
	default:
		return path + " " + mode.Perm().String()
	}
}

// debContents lists a .deb's files as entry does (dpkg-deb -c).
func debContents(t *testing.T, deb string) []string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -c %s: %v", deb, err)
	}
	var l []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		path := "/" + strings.TrimSuffix(strings.TrimPrefix(f[5], "./"), "/")
		if path == "/" {
			continue
		}
		perm := f[0][1:]
		switch f[0][0] {
		case 'l':
			l = append(l, path+" -> "+f[7])
		case 'd':
			l = append(l, path+"/ -"+perm)
		default:
			l = append(l, path+" -"+perm)
		}
	}
	slices.Sort(l)
	return l
}
