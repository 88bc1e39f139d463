// Command build makes the web console's dist/ from src/ reproducibly: the
// same src/ gives the same bytes. It minifies conservatively (whole-line
// comments, indentation and blank lines in js/*.js, joined in name order
// into assets/app.js; comments and runs of
// white space in app.css; indentation in index.html), writes dist/SIZE and
// prints the sizes (raw and gzip). Run from the repository root:
//
//	go run ./daemon/console/web/build
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	dir := flag.String("dir", "daemon/console/web", "the console's directory (src/ in, dist/ out)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "console build:", err)
		os.Exit(1)
	}
}

type asset struct {
	src, dst string
	min      func(string) string
}

func run(base string) error {
	assets := []asset{
		{"index.html", "index.html", minHTML},
		{"app.css", "assets/app.css", minCSS},
		{"js/*.js", "assets/app.js", minJS},
	}
	var size strings.Builder
	total, totalGz := 0, 0
	for _, a := range assets {
		in, err := read(filepath.Join(base, "src", a.src))
		if err != nil {
			return err
		}
		out := []byte(a.min(strings.ReplaceAll(string(in), "\r\n", "\n")))
		dst := filepath.Join(base, "dist", a.dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, out, 0o644); err != nil {
			return err
		}
		gz, err := gzipSize(out)
		if err != nil {
			return err
		}
		total, totalGz = total+len(out), totalGz+gz
		fmt.Fprintf(&size, "%-16s %6d bytes  %6d gzip\n", a.dst, len(out), gz)
	}
	fmt.Fprintf(&size, "%-16s %6d bytes  %6d gzip\n", "total", total, totalGz)
	fmt.Print(size.String())
	return os.WriteFile(filepath.Join(base, "dist", "SIZE"), []byte(size.String()), 0o644)
}

// read reads a file, or the files a pattern matches in name order, joined.
func read(pattern string) ([]byte, error) {
	names, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no such file", pattern)
	}
	sort.Strings(names)
	var all []byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		all = append(all, b...)
		all = append(all, '\n')
	}
	return all, nil
}

// gzipSize is the size at gzip's default level (what a server sending
// Content-Encoding: gzip would roughly send).
func gzipSize(b []byte) (int, error) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}

// minJS drops whole-line // comments, indentation and blank lines. The
// source avoids multi-line strings and template literals, so lines are
// independent; nothing inside a line changes.
func minJS(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

var (
	cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cssSpace   = regexp.MustCompile(`\s+`)
	cssPunct   = regexp.MustCompile(`\s*([{};,>])\s*`)
)

// minCSS drops comments and collapses white space around punctuation (the
// source has no strings with significant spaces).
func minCSS(s string) string {
	s = cssComment.ReplaceAllString(s, "")
	s = cssSpace.ReplaceAllString(s, " ")
	s = cssPunct.ReplaceAllString(s, "$1")
	return strings.TrimSpace(strings.ReplaceAll(s, ";}", "}")) + "\n"
}

// minHTML drops indentation and blank lines.
func minHTML(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}
