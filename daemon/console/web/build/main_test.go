package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDistIsBuiltFromSrc builds a copy of src/ twice: the same bytes both
// times (reproducible), and the bytes committed in dist/ (not stale: run
// make console).
func TestDistIsBuiltFromSrc(t *testing.T) {
	const base = ".."
	var outs [2]string
	for i := range outs {
		outs[i] = t.TempDir()
		if err := os.CopyFS(filepath.Join(outs[i], "src"), os.DirFS(filepath.Join(base, "src"))); err != nil {
			t.Fatal(err)
		}
		if err := run(outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"index.html", "assets/app.js", "assets/app.css", "SIZE"} {
		a, errA := os.ReadFile(filepath.Join(outs[0], "dist", f))
		b, errB := os.ReadFile(filepath.Join(outs[1], "dist", f))
		committed, errC := os.ReadFile(filepath.Join(base, "dist", f))
		if errA != nil || errB != nil || errC != nil {
			t.Fatalf("%s: %v %v %v", f, errA, errB, errC)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("dist/%s differs between two builds of the same source", f)
		}
		if !bytes.Equal(a, committed) {
			t.Errorf("dist/%s is stale: run make console", f)
		}
	}
}

// TestMinJSKeepsLines: only whole-line comments and indentation go.
func TestMinJSKeepsLines(t *testing.T) {
	in := "// a comment\n  const a = \"x // not a comment\";\n\n\tif (a) f(); // trailing stays\n"
	want := "const a = \"x // not a comment\";\nif (a) f(); // trailing stays\n"
	if got := minJS(in); got != want {
		t.Errorf("minJS:\n%q\nwant\n%q", got, want)
	}
}
