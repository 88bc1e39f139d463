package nbstore

import (
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// topo is what a load balancer's attachments are derived from, read in
// one pass over switches, routers and router ports (O(networks), shared
// by every load balancer of a sweep): which router holds each network's
// gateway port, which networks each router routes, and where each
// Load_Balancer row is referenced from now.
type topo struct {
	switchOf   map[string]string            // network -> its switch UUID
	routerOf   map[string]string            // network -> router holding its gateway port
	netsOf     map[string][]string          // router -> networks whose gateway port it holds (sorted)
	userRouter map[string]string            // router UUID -> user router name ("": a network's own router)
	gatewayNet map[string]string            // router UUID -> its external gateway network ("": none)
	att        map[string]*ovn.LBAttachment // Load_Balancer UUID -> switches and routers referencing it
}

func (m *Manager) topology() (*topo, error) {
	t := &topo{switchOf: map[string]string{}, routerOf: map[string]string{}, netsOf: map[string][]string{},
		userRouter: map[string]string{}, gatewayNet: map[string]string{}}
	sws, err := m.NB.ListSwitches()
	if err != nil {
		return nil, err
	}
	for _, ls := range sws {
		t.switchOf[ls.ExternalIDs[keys.Network]] = ls.UUID
	}
	lrps, err := ovn.List(m.NB, func(*nbdb.LogicalRouterPort) bool { return true })
	if err != nil {
		return nil, err
	}
	name := make(map[string]string, len(lrps))
	for _, p := range lrps {
		name[p.UUID] = p.Name
	}
	lrs, err := ovn.List(m.NB, func(*nbdb.LogicalRouter) bool { return true })
	if err != nil {
		return nil, err
	}
	prefix := netsvc.RouterPortName("")
	for _, lr := range lrs {
		for _, u := range lr.Ports {
			if n, ok := strings.CutPrefix(name[u], prefix); ok && n != "" {
				t.routerOf[n] = lr.UUID
				t.netsOf[lr.UUID] = append(t.netsOf[lr.UUID], n)
			}
		}
		slices.Sort(t.netsOf[lr.UUID])
		t.userRouter[lr.UUID] = lr.ExternalIDs[keys.Router]
		t.gatewayNet[lr.UUID] = lr.ExternalIDs[keys.GatewayNet]
	}
	t.att, err = m.NB.LBAttachments()
	return t, err
}

// routed are the networks a VIP on network reaches: itself, and every
// network whose gateway port is on the router holding its own.
func (t *topo) routed(network string) []string {
	if r := t.routerOf[network]; r != "" {
		return t.netsOf[r]
	}
	return []string{network}
}

// attachment is where a load balancer on network belongs: the switches of
// the routed networks and the router holding the network's gateway port.
func (t *topo) attachment(network string) ovn.LBAttachment {
	var a ovn.LBAttachment
	for _, n := range t.routed(network) {
		if s := t.switchOf[n]; s != "" {
			a.Switches = append(a.Switches, s)
		}
	}
	if r := t.routerOf[network]; r != "" {
		a.Routers = []string{r}
	}
	slices.Sort(a.Switches)
	return a
}

// current is where the row uuid is referenced from now (sorted).
func (t *topo) current(uuid string) ovn.LBAttachment {
	var a ovn.LBAttachment
	if x := t.att[uuid]; x != nil {
		a.Switches, a.Routers = slices.Sorted(slices.Values(x.Switches)), slices.Sorted(slices.Values(x.Routers))
	}
	return a
}

// diff are the references to add and to drop to go from cur to want.
func diff(want, cur ovn.LBAttachment) (add, del ovn.LBAttachment) {
	minus := func(a, b []string) []string {
		var out []string
		for _, x := range a {
			if !slices.Contains(b, x) {
				out = append(out, x)
			}
		}
		return out
	}
	add = ovn.LBAttachment{Switches: minus(want.Switches, cur.Switches), Routers: minus(want.Routers, cur.Routers)}
	del = ovn.LBAttachment{Switches: minus(cur.Switches, want.Switches), Routers: minus(cur.Routers, want.Routers)}
	return add, del
}
