package events

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// fipIndex is the floating IPs associated with each port, so that a port's
// rebuild finds its own in O(its floating IPs), not by a scan of every
// floating-IP reservation. Cache events keep it (each sets or drops its
// row, by row UUID), and every pass over the ports replaces it from the
// cache (rows deleted while Northbound was away send no event). An event
// older than the pass that arrives after it is overwritten by the events
// that follow it: each row ends as its last event says, and each event
// marks the ports it touched, which are then rebuilt.
type fipIndex struct {
	mu     sync.Mutex
	rows   map[string]fipRow                // reservation row UUID -> its association
	byPort map[string]map[string]netip.Addr // port -> row UUID -> floating IP
}

type fipRow struct {
	port string
	ip   netip.Addr
}

func newFIPIndex() *fipIndex {
	return &fipIndex{rows: map[string]fipRow{}, byPort: map[string]map[string]netip.Addr{}}
}

// event follows a DHCP_Options row's change (old or cur nil: inserted or
// deleted) and returns the ports whose floating IPs it may change.
func (x *fipIndex) event(old, cur *nbdb.DHCPOptions) (ports []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range []*nbdb.DHCPOptions{old, cur} {
		if d == nil {
			continue
		}
		if r, ok := ovn.ReservationOf(d); ok && r.Owner == keys.OwnerFIP && r.FIPPort != "" {
			ports = append(ports, r.FIPPort)
		}
		x.drop(d.UUID)
	}
	if cur != nil {
		if r, ok := ovn.ReservationOf(cur); ok && r.Owner == keys.OwnerFIP && r.FIPPort != "" {
			x.put(cur.UUID, fipRow{r.FIPPort, r.IP})
		}
	}
	return ports
}

// replace sets the index to the floating-IP reservations rs.
func (x *fipIndex) replace(rs []ovn.Reservation) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rows, x.byPort = map[string]fipRow{}, map[string]map[string]netip.Addr{}
	for _, r := range rs {
		if r.FIPPort != "" {
			x.put(r.UUID, fipRow{r.FIPPort, r.IP})
		}
	}
}

// of returns port's floating IPs, sorted.
func (x *fipIndex) of(port string) []netip.Addr {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []netip.Addr
	for _, a := range x.byPort[port] {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func (x *fipIndex) put(uuid string, r fipRow) {
	x.rows[uuid] = r
	if x.byPort[r.port] == nil {
		x.byPort[r.port] = map[string]netip.Addr{}
	}
	x.byPort[r.port][uuid] = r.ip
}

func (x *fipIndex) drop(uuid string) {
	r, ok := x.rows[uuid]
	if !ok {
		return
	}
	delete(x.rows, uuid)
	delete(x.byPort[r.port], uuid)
	if len(x.byPort[r.port]) == 0 {
		delete(x.byPort, r.port)
	}
}
