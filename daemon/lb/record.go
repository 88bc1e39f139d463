package lb

import (
	"fmt"
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
		ids[keys.LBSource] = l.Source.String()
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
	l.Source, _ = netip.ParseAddr(ids[keys.LBSource])
	for _, s := range split(ids[keys.LBListeners]) {
		p, mp, _ := strings.Cut(s, ":")
		port, err1 := strconv.Atoi(p)
		mport, err2 := strconv.Atoi(mp)
		if err1 != nil || err2 != nil {
			return l, fmt.Errorf("lb %s: listener %q is malformed", l.Name, s)
		}
		l.Listeners = append(l.Listeners, Listener{port, mport})
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
