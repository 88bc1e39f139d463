package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The shape of the code (house style, habit 10): files that fit one idea.
const (
	maxFileLines = 600 // a hand-written .go file, in lines
	maxFuncLines = 80  // a function, from its func keyword to its closing brace
)

// pending are the offenders under test/, present when this test came in,
// that are being split elsewhere: a file by its path, a function by
// "path:Name" or "path:Type.Name", a package by its directory and a
// trailing slash. An entry that no longer offends fails the test: remove
// it, so the list only shrinks to empty.
var pending = map[string]string{}

// skipDirs are not walked, relative to the repository root: scripts/crossings
// is a module of its own.
var skipDirs = map[string]bool{".git": true, "scripts/crossings": true}

// repoRoot is the directory above daemon/, where this file is.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller: no file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

// shapeOffenders parses every hand-written .go file under root and returns
// what is too long or undocumented, by the keys of pending, with why.
func shapeOffenders(t *testing.T, root string) map[string]string {
	t.Helper()
	off := map[string]string{}
	fset := token.NewFileSet()
	documented := map[string]bool{} // package directories with non-test files -> has a doc comment
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			if skipDirs[rel] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if generated(f) {
			return nil
		}
		if n := strings.Count(string(src), "\n"); n > maxFileLines {
			off[rel] = fmt.Sprintf("%d lines, more than %d: split it by idea", n, maxFileLines)
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line; n > maxFuncLines {
				off[rel+":"+funcName(fd)] = fmt.Sprintf("%d lines, more than %d: split it into named steps", n, maxFuncLines)
			}
		}
		if !strings.HasSuffix(rel, "_test.go") {
			dir := filepath.ToSlash(filepath.Dir(rel)) + "/"
			documented[dir] = documented[dir] || f.Doc != nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range documented {
		if !ok {
			off[dir] = "no package doc comment in any of its non-test files"
		}
	}
	return off
}

// generated: a comment before the package clause says "Code generated" (the
// libovsdb model generator does not write the whole conventional line, so
// ast.IsGenerated misses its files).
func generated(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "// Code generated") {
				return true
			}
		}
	}
	return false
}

// funcName is Name, or Type.Name for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ := fd.Recv.List[0].Type
	for {
		switch x := typ.(type) {
		case *ast.StarExpr:
			typ = x.X
			continue
		case *ast.IndexExpr:
			typ = x.X
			continue
		case *ast.IndexListExpr:
			typ = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

// TestCodeShape: every hand-written .go file fits in maxFileLines, every
// function in maxFuncLines, and every package has a doc comment, but for
// the pending entries, each of which must still offend.
func TestCodeShape(t *testing.T) {
	off := shapeOffenders(t, repoRoot(t))
	keys := make([]string, 0, len(off))
	for k := range off {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if why, ok := pending[k]; ok {
			t.Logf("%s: %s (pending: %s)", k, off[k], why)
			continue
		}
		t.Errorf("%s: %s", k, off[k])
	}
	for k := range pending {
		if _, ok := off[k]; !ok {
			t.Errorf("pending %s no longer offends: remove it from pending", k)
		}
	}
}
