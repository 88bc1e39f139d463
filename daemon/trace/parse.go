package trace

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Result is a parsed and explained trace.
type Result struct {
	Verdict    string // delivered | dropped | sent-out | unknown
	Summary    string
	OutputPort string // the logical port it reaches (delivered, sent-out)
	OutputType string // its type ("": a workload; localnet: an external network)
	// DropPort: the port whose egress pipeline dropped it ("": dropped in an
	// ingress pipeline or not dropped).
	DropPort string
	Hops     []Hop  // pipelines in order
	ACLs     []Flow // the ACL flows the packet matched, in order
	Decision *Flow  // the ACL flow that decided (dropped: the dropping one)
	// Group and Rule: the security group and rule id of Decision (Rule ""
	// with a Group: the group's default drop); RuleText is the rule.
	Group, Rule, RuleText string
	Raw                   string
	// ARP: the router sent an ARP request for the next hop first (what
	// leaves is that request: the router does not know the MAC yet).
	ARP bool
}

// Hop is one pipeline a packet went through.
type Hop struct {
	Ingress  bool
	Datapath string
	InPort   string
	OutPort  string // egress pipelines
	Flows    []Flow
}

// Flow is one logical flow the packet matched.
type Flow struct {
	Table    int
	Stage    string // ls_in_acl, lr_in_ip_routing, ...
	Match    string
	Priority int
	Actions  []string
	Hop      int  // index in Result.Hops
	Drop     bool // its actions drop the packet
}

var (
	hopRe   = regexp.MustCompile(`^(ingress|egress)\((.*)\)$`)
	kvRe    = regexp.MustCompile(`(\w+)="([^"]*)"`)
	flowRe  = regexp.MustCompile(`^\s*(\d+)\. (\S+) \([^)]*\): (.*), priority (\d+), uuid [0-9a-f]+$`)
	outRe   = regexp.MustCompile(`output to "([^"]+)", type "([^"]*)"`)
	dropRe  = regexp.MustCompile(`^(drop;|/\* drop \*/;?|/\* no entry .*|no match .*)`)
	aclHint = regexp.MustCompile(`_acl(_after_lb|_eval|_action)?$`)
)

// Parse reads ovn-trace's --detailed output. It never fails: what it does
// not recognise it leaves out (Verdict "unknown").
func Parse(raw string) *Result {
	r := &Result{Raw: raw}
	var cur *Flow
	for _, line := range strings.Split(raw, "\n") {
		trim := strings.TrimSpace(line)
		if m := hopRe.FindStringSubmatch(trim); m != nil {
			h := Hop{Ingress: m[1] == "ingress"}
			for _, kv := range kvRe.FindAllStringSubmatch(m[2], -1) {
				switch kv[1] {
				case "dp":
					h.Datapath = kv[2]
				case "inport":
					h.InPort = kv[2]
				case "outport":
					h.OutPort = kv[2]
				}
			}
			r.Hops = append(r.Hops, h)
			cur = nil
			continue
		}
		if len(r.Hops) == 0 || trim == "" || strings.HasPrefix(trim, "---") || strings.HasPrefix(trim, "#") {
			continue
		}
		hop := &r.Hops[len(r.Hops)-1]
		if m := flowRe.FindStringSubmatch(line); m != nil {
			table, _ := strconv.Atoi(m[1])
			prio, _ := strconv.Atoi(m[4])
			hop.Flows = append(hop.Flows, Flow{Table: table, Stage: m[2], Match: m[3], Priority: prio, Hop: len(r.Hops) - 1})
			cur = &hop.Flows[len(hop.Flows)-1]
			continue
		}
		if m := outRe.FindStringSubmatch(trim); m != nil && m[2] != "patch" {
			r.OutputPort, r.OutputType = m[1], m[2] // patch: into the peer's pipeline
		}
		if trim == "arp" {
			r.ARP = true
		}
		if cur != nil {
			cur.Actions = append(cur.Actions, trim)
			if dropRe.MatchString(trim) {
				cur.Drop = true
			}
		} else if dropRe.MatchString(trim) && len(hop.Flows) == 0 {
			hop.Flows = append(hop.Flows, Flow{Stage: "(no flow)", Actions: []string{trim}, Drop: true, Hop: len(r.Hops) - 1})
		}
	}
	r.classify()
	return r
}

// classify sets the verdict, the ACLs matched and the deciding one.
func (r *Result) classify() {
	var last *Flow
	for i := range r.Hops {
		for j := range r.Hops[i].Flows {
			f := &r.Hops[i].Flows[j]
			if aclHint.MatchString(f.Stage) && !strings.Contains(f.Stage, "hint") && f.Priority > 1000 && f.Priority < 65535 {
				r.ACLs = append(r.ACLs, *f)
			}
			last = f
		}
	}
	switch {
	case r.OutputPort != "" && isExternal(r.OutputType):
		r.Verdict = "sent-out"
	case r.OutputPort != "":
		r.Verdict = "delivered"
	case last != nil:
		r.Verdict = "dropped"
		if h := r.Hops[last.Hop]; !h.Ingress {
			r.DropPort = h.OutPort
		}
	default:
		r.Verdict = "unknown"
	}
	r.Decision = r.decision()
}

// decision is the ACL flow that decided: the last dropping one of a
// dropped packet; else the last to-lport one (the destination's groups),
// else the last from-lport one (the source's).
func (r *Result) decision() *Flow {
	var from *Flow
	for i := len(r.ACLs) - 1; i >= 0; i-- {
		a := &r.ACLs[i]
		switch {
		case r.Verdict == "dropped":
			if a.Drop {
				return a
			}
		case a.Drop:
		case strings.HasPrefix(a.Stage, "ls_out_"):
			return a
		case from == nil:
			from = a
		}
	}
	return from
}

// Routers are the routers the packet went through (their datapaths).
func (r *Result) Routers() []string {
	var out []string
	for _, h := range r.Hops {
		if h.Ingress && len(h.Flows) > 0 && strings.HasPrefix(h.Flows[0].Stage, "lr_") && !slices.Contains(out, h.Datapath) {
			out = append(out, h.Datapath)
		}
	}
	return out
}

func isExternal(portType string) bool {
	switch portType {
	case "localnet", "l2gateway", "external", "vtep":
		return true
	}
	return false
}
