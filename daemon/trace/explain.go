package trace

import (
	"fmt"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// OVN writes an ACL's logical flow at the ACL's priority plus this offset.
const aclPriorityOffset = 1000

// Shared rows of the all-members port group (daemon/secgroup): their drops
// are the default drops of the member's own groups.
const (
	allGroup     = "all"
	egressGroup  = "egress_restricted"
	defaultIn    = "default-ingress"
	defaultEgres = "default-egress-drop"
)

// MatchACL is the QuantumNet ACL whose logical flow f is: the ACL at f's
// priority less OVN's offset whose match is in f's match (northd wraps it
// in its own conditions). The longest such match wins.
func MatchACL(f Flow, acls []*nbdb.ACL) *nbdb.ACL {
	var best *nbdb.ACL
	for _, a := range acls {
		if a.Priority+aclPriorityOffset != f.Priority || !strings.Contains(f.Match, a.Match) {
			continue
		}
		if best == nil || len(a.Match) > len(best.Match) {
			best = a
		}
	}
	return best
}

// Explain maps the deciding ACL to its group and rule and writes the
// summary. acls are QuantumNet's ACL rows.
func (t *Tracer) Explain(r *Result, acls []*nbdb.ACL) {
	if r.Decision != nil {
		if a := MatchACL(*r.Decision, acls); a != nil {
			r.Group, r.Rule, r.RuleText = a.ExternalIDs[keys.SG], a.ExternalIDs[keys.Rule], a.ExternalIDs[keys.RuleSpec]
			t.defaultDrop(r)
		}
		if r.Group == allGroup && r.Verdict != "dropped" {
			// The default egress allow of the source's groups: no group
			// of the destination filters it.
			r.Decision, r.Group, r.Rule, r.RuleText = nil, "", "", ""
		}
	}
	r.Summary = t.summary(r)
}

// defaultDrop turns a drop by a shared default row into the default drop
// of the groups of the port it protects.
func (t *Tracer) defaultDrop(r *Result) {
	var port string
	switch {
	case r.Group == allGroup && r.Rule == defaultIn:
		port = r.DropPort
	case r.Group == egressGroup && r.Rule == defaultEgres:
		if len(r.Hops) > 0 {
			port = r.Hops[0].InPort
		}
	default:
		return
	}
	r.RuleText = r.Group + "/" + r.Rule
	r.Rule = ""
	r.Group = ""
	if p, ok := t.NB.PortByName(port); ok {
		r.Group = strings.Join(p.SecurityGroups, ",")
	}
}

// summary says in one sentence where the packet goes.
func (t *Tracer) summary(r *Result) string {
	var s string
	switch r.Verdict {
	case "delivered":
		s = "delivered to " + t.describe(r.OutputPort)
	case "sent-out":
		s = "leaves through " + external(r)
	case "dropped":
		s = "dropped"
		if r.DropPort != "" {
			s += " before " + t.describe(r.DropPort)
		}
		if h := r.Hops[len(r.Hops)-1]; r.Decision == nil && len(h.Flows) > 0 {
			f := h.Flows[len(h.Flows)-1]
			s += fmt.Sprintf(" in %s (stage %s of %s)", h.Datapath, f.Stage, pipeline(h))
		}
	default:
		return "ovn-trace's output was not understood; see the raw trace"
	}
	if rs := r.Routers(); len(rs) > 0 && r.Verdict != "dropped" {
		for i := range rs {
			rs[i] = strings.TrimPrefix(rs[i], keys.RouterPrefix)
		}
		s += ", routed by " + strings.Join(rs, ", ")
	}
	if r.Verdict == "sent-out" && r.ARP {
		s += " (what leaves first is the router's ARP request for the next hop, whose MAC it does not know yet)"
	}
	switch {
	case r.Decision == nil && r.Verdict == "delivered":
		s += "; no security group of the destination filters it"
	case r.Decision == nil:
	case r.Rule != "":
		verb := "allowed"
		if r.Verdict == "dropped" {
			verb = "dropped"
		}
		s += fmt.Sprintf(": %s by security group %s, rule %s (%s)", verb, r.Group, r.Rule, r.RuleText)
	case r.Group != "":
		s += fmt.Sprintf(": no rule of security group %s allows it (the group's default drop)", r.Group)
	case r.RuleText != "":
		s += fmt.Sprintf(": by %s", r.RuleText)
	}
	return s
}

// external names the network a packet leaves by: the switch of the last
// pipeline.
func external(r *Result) string {
	net := r.Hops[len(r.Hops)-1].Datapath
	return fmt.Sprintf("external network %s (port %s, type %s)", strings.TrimPrefix(net, keys.SwitchPrefix), r.OutputPort, r.OutputType)
}

func pipeline(h Hop) string {
	if h.Ingress {
		return "the ingress pipeline"
	}
	return "the egress pipeline"
}

// describe names a logical port in plain words.
func (t *Tracer) describe(name string) string {
	p, ok := t.NB.PortByName(name)
	if !ok {
		return "port " + name
	}
	return describePort(p)
}

func describePort(p ovn.Port) string {
	s := "port " + p.Name
	switch {
	case p.Kind == keys.KindVM:
		s += fmt.Sprintf(" (VM %s", p.VMName)
	case p.Kind == keys.KindContainer:
		s += fmt.Sprintf(" (container %s", short(p.ContainerID))
	case p.Network != "":
		s += " (on"
	default:
		return s
	}
	if p.Network != "" {
		s += " on network " + p.Network
	}
	return strings.Replace(s+")", "(on on", "(on", 1)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
