package topology

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the tree as one indented JSON object (stable snake_case
// field names; JSON is also valid YAML).
func WriteJSON(w io.Writer, t *Tree) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteTable writes the tree as indented lines, one object a line:
//
//	external ext  physnet1  192.0.2.0/24
//	└─ router r1  gateway 192.0.2.5 on chassis-a, snat
//	   └─ network blue  10.0.1.0/24
//	      └─ port p1  container 4f2a…  chassis-a  up  10.0.1.5  fip 192.0.2.50
func WriteTable(w io.Writer, t *Tree) error {
	p := &printer{w: w}
	for _, e := range t.ExternalNetworks {
		line := []string{"external " + e.Name, "physnet " + e.Physnet}
		if e.VLAN != 0 {
			line = append(line, fmt.Sprintf("vlan %d", e.VLAN))
		}
		line = append(line, e.Subnets...)
		if len(e.FloatingIPs) > 0 {
			line = append(line, "free fips "+strings.Join(e.FloatingIPs, ","))
		}
		p.line("", line...)
		n := len(e.Routers) + len(e.Ports)
		for i, r := range e.Routers {
			h, s := branch("", i == n-1)
			p.router(h, s, r)
		}
		for i, pt := range e.Ports {
			h, _ := branch("", len(e.Routers)+i == n-1)
			p.port(h, pt)
		}
	}
	for _, r := range t.Routers {
		p.router("", "", r)
	}
	for _, n := range t.Networks {
		p.network("", "", n)
	}
	if len(t.ExternalNetworks)+len(t.Routers)+len(t.Networks) == 0 {
		p.line("", "(no networks)")
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(prefix string, fields ...string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, prefix+strings.Join(fields, "  "))
	}
}

// branch is the prefix of a child of an object whose children are indented
// by indent, and the indent of the child's own children.
func branch(indent string, last bool) (head, sub string) {
	if last {
		return indent + "└─ ", indent + "   "
	}
	return indent + "├─ ", indent + "│  "
}

func (p *printer) router(head, sub string, r *Router) {
	line := []string{"router " + r.Name}
	if g := r.Gateway; g != nil {
		s := "gateway " + strings.Join(g.Addresses, ",")
		if g.ActiveChassis != "" {
			s += " on " + g.ActiveChassis
		}
		if g.SNAT {
			s += ", snat"
		}
		line = append(line, s)
	}
	p.line(head, line...)
	for i, n := range r.Networks {
		h, s := branch(sub, i == len(r.Networks)-1)
		p.network(h, s, n)
	}
}

func (p *printer) network(head, sub string, n *Network) {
	p.line(head, append([]string{"network " + n.Name}, n.Subnets...)...)
	k := len(n.Ports) + len(n.LoadBalancers)
	for i, pt := range n.Ports {
		h, _ := branch(sub, i == k-1)
		p.port(h, pt)
	}
	for i, lb := range n.LoadBalancers {
		h, _ := branch(sub, len(n.Ports)+i == k-1)
		p.line(h, "lb "+lb.Name, lb.VIP, lb.Protocol, fmt.Sprintf("%d members", lb.Members))
	}
}

func (p *printer) port(head string, pt *Port) {
	kind := pt.Kind
	if pt.Workload != "" {
		kind += " " + short(pt.Workload)
	}
	state := "down"
	if pt.Up {
		state = "up"
	}
	line := []string{"port " + pt.Name, kind, "chassis " + dash(pt.Chassis), state, dash(strings.Join(pt.Addresses, ","))}
	if pt.Migration != "" {
		line = append(line, "migrating "+pt.Migration)
	}
	if len(pt.FloatingIPs) > 0 {
		line = append(line, "fip "+strings.Join(pt.FloatingIPs, ","))
	}
	if len(pt.SecurityGroups) > 0 {
		line = append(line, "sg "+strings.Join(pt.SecurityGroups, ","))
	}
	p.line(head, line...)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// short shortens a container id to 12 characters, as runtimes print them.
func short(id string) string {
	if len(id) > 12 && !strings.ContainsAny(id, "-.") {
		return id[:12]
	}
	return id
}
