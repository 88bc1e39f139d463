package secgroup

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// String writes o for people (and golden files): each port group with its
// ports and its ACLs, one block per ACL; ACLs no port group lists come
// last.
func (o Output) String() string {
	var b strings.Builder
	byKey := make(map[string]ACL, len(o.ACLs))
	for _, a := range o.ACLs {
		byKey[a.Key] = a
	}
	listed := map[string]bool{}
	for _, p := range o.PortGroups {
		fmt.Fprintf(&b, "Port_Group %s %s\n", p.Name, formatMap(p.ExternalIDs))
		fmt.Fprintf(&b, "  ports (%d): %s\n", len(p.Ports), strings.Join(p.Ports, " "))
		for _, k := range p.ACLs {
			a, ok := byKey[k]
			if !ok {
				fmt.Fprintf(&b, "  ACL %s (missing)\n", k)
				continue
			}
			listed[k] = true
			writeACL(&b, "  ", a)
		}
	}
	for _, a := range o.ACLs {
		if !listed[a.Key] {
			b.WriteString("(in no port group)\n")
			writeACL(&b, "  ", a)
		}
	}
	return b.String()
}

func writeACL(b *strings.Builder, indent string, a ACL) {
	fmt.Fprintf(b, "%sACL %s %s %d %s\n", indent, a.Key, a.Direction, a.Priority, a.Action)
	fmt.Fprintf(b, "%s    match: %s\n", indent, a.Match)
	fmt.Fprintf(b, "%s    external_ids: %s\n", indent, formatMap(a.ExternalIDs))
	if a.Log {
		fmt.Fprintf(b, "%s    log: name=%s severity=%s meter=%s\n", indent, a.Name, a.Severity, a.Meter)
	}
}

func formatMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if v == "" || strings.ContainsAny(v, " \t\"{}=") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
