package ovn

import (
	"context"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Reservation is an address held without a port: a DHCP_Options row of
// kind keys.KindReservation (an API allocation, the resolver's address, or
// a static MAC binding that DHCP honours).
type Reservation struct {
	UUID    string
	Network string
	Owner   string // who holds it
	MAC     string // static binding: the MAC that gets IP ("" if none)
	IP      netip.Addr
	// A floating IP's association (keys.FIPPort, keys.FIPFixed): the
	// logical port and its address ("" and zero when not associated).
	FIPPort  string
	FIPFixed netip.Addr
}

// DHCPRow is what any DHCP_Options row of QuantumNet's says about itself:
// its network, its kind (keys.KindDHCP, keys.KindDHCP6 or
// keys.KindReservation) and, for a reservation, its owner.
type DHCPRow struct {
	UUID, Network, Kind, Owner string
}

// DHCPRowOf parses the external ids of a DHCP_Options row.
func DHCPRowOf(d *nbdb.DHCPOptions) DHCPRow {
	return DHCPRow{UUID: d.UUID, Network: d.ExternalIDs[keys.Network], Kind: d.ExternalIDs[keys.Kind], Owner: d.ExternalIDs[keys.Owner]}
}

// ReservationOf parses a reservation row; ok is false for other DHCP
// options rows and for reservations without a valid address.
func ReservationOf(d *nbdb.DHCPOptions) (r Reservation, ok bool) {
	if d.ExternalIDs[keys.Kind] != keys.KindReservation {
		return r, false
	}
	ip, err := netip.ParseAddr(d.ExternalIDs[keys.IP])
	if err != nil {
		return r, false
	}
	fixed, _ := netip.ParseAddr(d.ExternalIDs[keys.FIPFixed])
	return Reservation{UUID: d.UUID, Network: d.ExternalIDs[keys.Network], Owner: d.ExternalIDs[keys.Owner],
		MAC: d.ExternalIDs[keys.MAC], IP: ip, FIPPort: d.ExternalIDs[keys.FIPPort], FIPFixed: fixed}, true
}

// Row is the DHCP_Options row of r (r.UUID: a named UUID, or empty).
func (r Reservation) Row() *nbdb.DHCPOptions {
	ids := map[string]string{keys.Network: r.Network, keys.Kind: keys.KindReservation, keys.Owner: r.Owner, keys.IP: r.IP.String()}
	if r.MAC != "" {
		ids[keys.MAC] = r.MAC
	}
	if r.FIPPort != "" && r.FIPFixed.IsValid() {
		ids[keys.FIPPort], ids[keys.FIPFixed] = r.FIPPort, r.FIPFixed.String()
	}
	return &nbdb.DHCPOptions{UUID: r.UUID, Cidr: netip.PrefixFrom(r.IP, r.IP.BitLen()).String(), ExternalIDs: ids}
}

// Reservations returns the valid reservations of network (read from the
// cache without copying the rows: scans of tens of thousands are cheap),
// loading them first if the network is not in scope (scope.go).
func (c *NB) Reservations(network string) ([]Reservation, error) {
	if err := c.NeedNetwork(network); err != nil {
		return nil, err
	}
	return c.reservationsWhere(keys.Network, network)
}

// ReservationsOwned returns the valid reservations of network held by
// owner; those of an owner every host keeps (a floating IP's, a
// resolver's) are read without loading the network's others.
func (c *NB) ReservationsOwned(network, owner string) ([]Reservation, error) {
	if !slices.Contains(alwaysLoaded, owner) {
		if err := c.NeedNetwork(network); err != nil {
			return nil, err
		}
	}
	rs, err := c.reservationsWhere(keys.Owner, owner)
	return slices.DeleteFunc(rs, func(r Reservation) bool { return r.Network != network }), err
}

// ReservationsOf returns the valid reservations of every network held by
// owner. A floating IP's and a resolver's are always loaded; another
// owner's makes every reservation load (and stay).
func (c *NB) ReservationsOf(owner string) ([]Reservation, error) {
	if !slices.Contains(alwaysLoaded, owner) {
		ctx, cancel := context.WithTimeout(context.Background(), scopeTimeout)
		defer cancel()
		if err := c.NeedAllReservations(ctx); err != nil {
			return nil, err
		}
	}
	return c.reservationsWhere(keys.Owner, owner)
}

// reservationsWhere returns the valid reservations whose external ID key
// is value (read from the cache without copying the rows).
func (c *NB) reservationsWhere(key, value string) ([]Reservation, error) {
	rows, err := ovs.QueryShallow(c.Conn, nbdb.DHCPOptionsTable, func(d *nbdb.DHCPOptions) bool {
		return d.ExternalIDs[keys.Kind] == keys.KindReservation && d.ExternalIDs[key] == value
	})
	if err != nil {
		return nil, err
	}
	out := make([]Reservation, 0, len(rows))
	for _, d := range rows {
		if r, ok := ReservationOf(d); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// InsertReservationOps inserts r (r.UUID: its named UUID).
func (c *NB) InsertReservationOps(r Reservation) ([]ovsdb.Operation, error) {
	return c.Create(r.Row())
}

// DeleteReservationOps deletes the reservation row uuid.
func (c *NB) DeleteReservationOps(uuid string) ([]ovsdb.Operation, error) {
	return c.Where(&nbdb.DHCPOptions{UUID: uuid}).Delete()
}
