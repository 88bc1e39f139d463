// Command crossings measures how a request path crosses package boundaries:
// from one root function (default: the daemon's CNI ADD handler) it walks
// quantumnetd's call graph (VTA over CHA, so closures, function fields and
// interface calls resolve) and lists every distinct caller -> callee package
// pair of the module it reaches. A pair is "down" when the caller imports
// the callee, "UP" when the callee imports the caller (a call back up the
// layers), "side" otherwise (through an interface or function value between
// packages that do not import each other). Generated models, the error
// kinds and the external_ids keys count as vocabulary, not as crossings;
// nor do Error/String-like methods (any type's, through fmt and errors).
//
//	cd scripts/crossings && go run . ../.. [ROOT]
//
// It is its own module so that golang.org/x/tools stays out of the
// project's dependencies.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/cha"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// vocabulary are the packages every layer may use like the standard
// library: generated models, the error kinds, the external_ids keys.
func vocabulary(pkg string) bool {
	for _, v := range []string{"/nbdb", "/sbdb", "/vswitchd", "/pkg/errs", "/pkg/ovn/keys"} {
		if strings.HasSuffix(pkg, v) {
			return true
		}
	}
	return false
}

// formatting reports methods that interface calls from fmt and errors reach
// on any type (the call graph cannot tell which): not crossings of a path.
func formatting(f *ssa.Function) bool {
	if f.Signature.Recv() == nil {
		return false
	}
	switch f.Name() {
	case "Error", "String", "Unwrap", "Is", "As", "Format":
		return true
	}
	return false
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crossings REPO-DIR [ROOT-FUNCTION]")
		os.Exit(2)
	}
	dir, root, mod := os.Args[1], "(*github.com/quantumnet/quantumnet/daemon/server.Server).CNIAdd", "github.com/quantumnet/quantumnet/"
	if len(os.Args) > 2 {
		root = os.Args[2]
	}
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: dir}
	pkgs, err := packages.Load(cfg, "./daemon")
	if err != nil {
		panic(err)
	}
	prog, _ := ssautil.AllPackages(pkgs, ssa.InstantiateGenerics)
	prog.Build()
	imports := map[string]map[string]bool{}
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		m := map[string]bool{}
		var walk func(q *packages.Package)
		walk = func(q *packages.Package) {
			for path, i := range q.Imports {
				if !m[path] {
					m[path] = true
					walk(i)
				}
			}
		}
		walk(p)
		imports[p.PkgPath] = m
	})
	funcs := ssautil.AllFunctions(prog)
	cg := vta.CallGraph(funcs, cha.CallGraph(prog))
	var start *callgraph.Node
	for f, n := range cg.Nodes {
		if f != nil && f.String() == root {
			start = n
		}
	}
	if start == nil {
		panic("root not found: " + root)
	}
	pkgOf := func(f *ssa.Function) string {
		if f.Pkg != nil {
			return f.Pkg.Pkg.Path()
		}
		if f.Parent() != nil && f.Parent().Pkg != nil {
			return f.Parent().Pkg.Pkg.Path()
		}
		return ""
	}
	seen := map[*callgraph.Node]bool{start: true}
	eff := map[*callgraph.Node]string{start: pkgOf(start.Func)}
	queue := []*callgraph.Node{start}
	edges := map[string]bool{}
	calls := map[string]bool{} // function-level cross-package calls
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range n.Out {
			cp := pkgOf(e.Callee.Func)
			if cp == "" && e.Callee.Func.Synthetic != "" { // wrapper: transparent
				if !seen[e.Callee] {
					seen[e.Callee] = true
					eff[e.Callee] = eff[n]
					queue = append(queue, e.Callee)
				}
				continue
			}
			if !strings.HasPrefix(cp, mod) || vocabulary(cp) || formatting(e.Callee.Func) {
				continue
			}
			from := eff[n]
			if from != cp {
				dir := "down"
				switch {
				case imports[from][cp]:
				case imports[cp][from]:
					dir = "UP"
				default:
					dir = "side" // through an interface or function value between packages that do not import each other
				}
				edges[fmt.Sprintf("%s %s -> %s", dir, strings.TrimPrefix(from, mod), strings.TrimPrefix(cp, mod))] = true
				calls[n.Func.String()+" -> "+e.Callee.Func.String()] = true
				if dir != "down" && os.Getenv("CROSSINGS_VERBOSE") != "" {
					fmt.Fprintf(os.Stderr, "%s: %s -> %s\n", dir, n.Func, e.Callee.Func)
				}
			}
			if !seen[e.Callee] {
				seen[e.Callee] = true
				eff[e.Callee] = cp
				queue = append(queue, e.Callee)
			}
		}
	}
	var out []string
	up, side := 0, 0
	for e := range edges {
		out = append(out, e)
		if strings.HasPrefix(e, "UP") {
			up++
		}
		if strings.HasPrefix(e, "side") {
			side++
		}
	}
	sort.Strings(out)
	fmt.Println(strings.Join(out, "\n"))
	fmt.Printf("from %s: %d cross-package calls (distinct caller -> callee functions) over %d package pairs; pairs upward: %d, sideways: %d\n", root, len(calls), len(out), up, side)
}
