package secgroup

import (
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Logging of drops. A group with LogDrops logs what it drops: its deny
// rules (admin tier) carry OVN's log columns, and two more ACLs of the group
// repeat the default drops for its members, logged, just above them
// (PriorityLogDrop): ingress "outport == @qn_sg_NAME && ip", and, for a
// group with egress allow rules, egress "inport == @qn_sg_NAME && inport ==
// @qn_sg_egress_restricted && ip" (its members whose egress is restricted).
// They drop nothing the default drops would not: an allow of any of a
// port's groups is above them. ovn-controller writes one line per logged
// packet to its log (module acl_log), naming the ACL "qn-sg:GROUP:RULE"
// (RULE: a rule id, default-drop or default-egress-drop); every logged ACL
// shares the meter LogMeter, so that a flood logs at most LogMeterRate
// lines a second (plus a burst of LogMeterBurst) on each chassis.

// Logging is an ACL's log columns (zero: not logged).
type Logging struct {
	Log      bool
	Name     string // "qn-sg:GROUP:RULE", at most 63 bytes (group: 32, rule id: 16)
	Severity string // nbdb.ACLSeverity*
	Meter    string // the Meter's name
}

// The meter of every logged ACL, and its rate.
const (
	LogMeter      = "qn-acl-log"
	LogMeterRate  = 10 // packets per second
	LogMeterBurst = 10 // packets
)

// The rule ids of the logged default drops.
const (
	RuleDefaultDrop       = "default-drop"
	RuleDefaultEgressDrop = "default-egress-drop"
)

// LogName is the name of the ACL of rule id of group in the log.
func LogName(group, rule string) string { return "qn-sg:" + group + ":" + rule }

func dropLogging(group, rule string) Logging {
	return Logging{Log: true, Name: LogName(group, rule), Severity: nbdb.ACLSeverityInfo, Meter: LogMeter}
}

// logDropACLs are the logged default drops of g (none unless g.LogDrops).
func logDropACLs(g Group) []ACL {
	if !g.LogDrops {
		return nil
	}
	pg := PortGroupName(g.Name)
	acl := func(rule, dir, match string) ACL {
		return ACL{
			Key: g.Name + "/" + rule, Direction: dir, Priority: PriorityLogDrop, Match: match,
			Action: nbdb.ACLActionDrop, ExternalIDs: map[string]string{keys.SG: g.Name, keys.Rule: rule},
			Logging: dropLogging(g.Name, rule),
		}
	}
	out := []ACL{acl(RuleDefaultDrop, nbdb.ACLDirectionToLport, "outport == @"+pg+" && ip")}
	if g.AllowsEgress() {
		out = append(out, acl(RuleDefaultEgressDrop, nbdb.ACLDirectionFromLport,
			"inport == @"+pg+" && inport == @"+EgressPortGroup+" && ip"))
	}
	return out
}

// isLogDropACL: a is one of the logged default drops of its group (no
// rule of it).
func isLogDropACL(a ACL) bool {
	r := a.ExternalIDs[keys.Rule]
	return a.ExternalIDs[keys.RuleSpec] == "" && (r == RuleDefaultDrop || r == RuleDefaultEgressDrop)
}

// Logs reports whether any ACL of o is logged (and so needs LogMeter).
func (o Output) Logs() bool {
	for _, a := range o.ACLs {
		if a.Log {
			return true
		}
	}
	return false
}

// columns returns the log columns of l as an ACL row has them.
func (l Logging) columns(m *nbdb.ACL) {
	m.Log = l.Log
	m.Name, m.Severity, m.Meter = optional(l.Name), optional(l.Severity), optional(l.Meter)
}

func loggingOf(m *nbdb.ACL) Logging {
	return Logging{Log: m.Log, Name: deref(m.Name), Severity: deref(m.Severity), Meter: deref(m.Meter)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
