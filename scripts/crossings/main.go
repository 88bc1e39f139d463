// Command crossings measures how a request path crosses package boundaries:
// from one root function (default: the daemon's CNI ADD handler) it walks
// quantumnetd's call graph (VTA over CHA, so closures, function fields and
// interface calls resolve) and lists every distinct caller -> callee package
// pair of the module it reaches. A pair is "down" when the caller imports
// the callee, "UP" when the callee imports the caller (a call back up the
// layers), "side" otherwise (through an interface or function value between
// packages that do not import each other).
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
			if !strings.HasPrefix(cp, mod) || strings.Contains(cp, "/nbdb") || strings.Contains(cp, "/sbdb") || strings.Contains(cp, "/vswitchd") {
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
	fmt.Printf("package crossings (distinct caller->callee package pairs reachable from %s): %d, upward: %d, sideways: %d\n", root, len(out), up, side)
}
