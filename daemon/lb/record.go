package lb

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// The record of a load balancer in its Load_Balancer row's external_ids.

// IDs is lb's record (keys.LB, keys.Network, keys.LBVIP, ...).
func (l *LoadBalancer) IDs() map[string]string {
	ls := make([]string, len(l.Listeners))
	for i, x := range l.Listeners {
		ls[i] = fmt.Sprintf("%d:%d", x.Port, x.MemberPort)
		if x.Name != "" && x.Name != strconv.Itoa(x.Port) {
			ls[i] += ":" + x.Name
		}
	}
	ms := make([]string, len(l.Members))
	for i, m := range l.Members {
		st := "off"
		if m.Enabled {
			st = "on"
		}
		ms[i] = m.ID() + "=" + st
	}
	ids := map[string]string{keys.LB: l.Name, keys.Network: l.Network, keys.LBVIP: l.VIP.String(),
		keys.LBListeners: strings.Join(ls, ","), keys.LBMembers: strings.Join(ms, ",")}
	if l.Source.IsValid() {
		ids[keys.LBSource] = sourcesString(l.Source, l.Sources)
	}
	if l.FIP.IsValid() {
		ids[keys.LBFIP] = l.FIP.String()
	}
	if l.Affinity > 0 {
		ids[keys.LBAffinity] = strconv.Itoa(l.Affinity)
	}
	if h := l.HealthCheck; h != nil {
		ids[keys.LBHealth] = fmt.Sprintf("%d,%d,%d,%d", h.Interval, h.Timeout, h.Success, h.Failure)
	}
	return ids
}

// FromIDs reads a record written by IDs (protocol: the row's column).
func FromIDs(ids map[string]string, protocol string) (LoadBalancer, error) {
	l := LoadBalancer{Name: ids[keys.LB], Network: ids[keys.Network], Protocol: protocol}
	var err error
	if l.VIP, err = netip.ParseAddr(ids[keys.LBVIP]); err != nil {
		return l, fmt.Errorf("lb %s: vip: %w", l.Name, err)
	}
	if l.Source, l.Sources, err = parseSources(ids[keys.LBSource]); err != nil {
		return l, fmt.Errorf("lb %s: %w", l.Name, err)
	}
	if f := ids[keys.LBFIP]; f != "" {
		if l.FIP, err = netip.ParseAddr(f); err != nil {
			return l, fmt.Errorf("lb %s: floating IP: %w", l.Name, err)
		}
	}
	if a := ids[keys.LBAffinity]; a != "" {
		if l.Affinity, err = strconv.Atoi(a); err != nil || ValidateAffinity(l.Affinity) != nil {
			return l, fmt.Errorf("lb %s: affinity %q is malformed", l.Name, a)
		}
	}
	for _, s := range split(ids[keys.LBListeners]) {
		f := strings.SplitN(s, ":", 3)
		if len(f) < 2 {
			return l, fmt.Errorf("lb %s: listener %q is malformed", l.Name, s)
		}
		port, err1 := strconv.Atoi(f[0])
		mport, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return l, fmt.Errorf("lb %s: listener %q is malformed", l.Name, s)
		}
		x := Listener{Port: port, MemberPort: mport}
		if len(f) == 3 {
			x.Name = f[2]
		}
		l.Listeners = append(l.Listeners, x)
	}
	for _, s := range split(ids[keys.LBMembers]) {
		id, st, _ := strings.Cut(s, "=")
		m, err := ParseMember(id)
		if err != nil {
			return l, err
		}
		m.Enabled = st == "on"
		l.Members = append(l.Members, m)
	}
	if h := ids[keys.LBHealth]; h != "" {
		var hc HealthCheck
		if _, err := fmt.Sscanf(h, "%d,%d,%d,%d", &hc.Interval, &hc.Timeout, &hc.Success, &hc.Failure); err != nil {
			return l, fmt.Errorf("lb %s: health check %q is malformed", l.Name, h)
		}
		l.HealthCheck = &hc
	}
	return l, nil
}

// SortListeners orders the listeners by port.
func (l *LoadBalancer) SortListeners() {
	slices.SortFunc(l.Listeners, func(a, b Listener) int { return a.Port - b.Port })
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// sourcesString writes the probes' sources: the network's own address
// first, then NETWORK=ADDRESS for the members' other networks, sorted.
func sourcesString(own netip.Addr, others map[string]netip.Addr) string {
	parts := []string{own.String()}
	for _, n := range slices.Sorted(maps.Keys(others)) {
		parts = append(parts, n+"="+others[n].String())
	}
	return strings.Join(parts, ",")
}

func parseSources(s string) (netip.Addr, map[string]netip.Addr, error) {
	var own netip.Addr
	var others map[string]netip.Addr
	for i, p := range split(s) {
		n, a, named := strings.Cut(p, "=")
		if !named {
			a = n
		}
		addr, err := netip.ParseAddr(a)
		if err != nil || named == (i == 0) {
			return own, others, fmt.Errorf("probe source %q is malformed", p)
		}
		if !named {
			own = addr
			continue
		}
		if others == nil {
			others = map[string]netip.Addr{}
		}
		others[n] = addr
	}
	return own, others, nil
}
