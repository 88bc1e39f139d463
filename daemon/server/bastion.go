package server

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// WireGuard bastions: requests to daemon/bastion/nbstore, views to replies;
// the peers' handshakes and counters come from the data plane of the
// chassis where the bastion is active when it is this one.

// BastionStats reads the running bastions' peers (daemon/bastion/wg).
type BastionStats interface {
	// PeerStats returns the peers of bastion name by public key (nil if
	// it does not run here).
	PeerStats(name string) map[bastion.Key]bastion.PeerStat
}

func (s *Server) bastionsReady() error {
	if s.Bastions == nil {
		return status.Error(codes.Unavailable, "bastions are not enabled in this daemon")
	}
	return nil
}

func (s *Server) toBastion(b bastion.Bastion) *api.Bastion {
	out := &api.Bastion{Name: b.Name, Router: b.Router, ListenPort: uint32(b.ListenPort), PublicKey: b.PrivateKey.Public().String(),
		Endpoint: b.Endpoint, ActiveChassis: b.Active, TunnelRange: b.TunnelRange.String(), SecurityGroup: bastion.SecurityGroup(b.Name)}
	var stats map[bastion.Key]bastion.PeerStat
	if s.BastionStats != nil {
		stats = s.BastionStats.PeerStats(b.Name)
	}
	for _, p := range b.Peers {
		out.Peers = append(out.Peers, peerOf(b.Name, p, stats[p.PublicKey]))
	}
	return out
}

func peerOf(bName string, p bastion.Peer, st bastion.PeerStat) *api.BastionPeer {
	out := &api.BastionPeer{Bastion: bName, Name: p.Name, Networks: p.Networks, PublicKey: p.PublicKey.String(),
		Address: p.Address.String(), RxBytes: st.RX, TxBytes: st.TX}
	if !st.LastHandshake.IsZero() {
		out.LastHandshakeUnix = st.LastHandshake.Unix()
	}
	return out
}

// CreateBastion creates a bastion on a router.
func (s *Server) CreateBastion(ctx context.Context, r *api.Bastion) (*api.Bastion, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	b, err := s.Bastions.Create(ctx, r.Name, r.Router, r.ListenPort)
	if err != nil {
		return nil, toStatus(err)
	}
	return s.toBastion(b), nil
}

// GetBastion shows a bastion with its peers and their last handshakes.
func (s *Server) GetBastion(_ context.Context, r *api.BastionRef) (*api.Bastion, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	b, err := s.Bastions.Get(r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return s.toBastion(b), nil
}

// ListBastions lists bastions by name.
func (s *Server) ListBastions(context.Context, *api.Empty) (*api.BastionList, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	all, err := s.Bastions.List()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.BastionList{}
	for _, b := range all {
		out.Bastions = append(out.Bastions, s.toBastion(b))
	}
	return out, nil
}

// DeleteBastion deletes a bastion and its peers.
func (s *Server) DeleteBastion(ctx context.Context, r *api.BastionRef) (*api.Empty, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	if err := s.Bastions.Delete(ctx, r.Name); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// AddBastionPeer adds a peer; with a generated key the reply's config is
// its wg-quick file (once).
func (s *Server) AddBastionPeer(ctx context.Context, r *api.BastionPeer) (*api.BastionPeer, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	var nets []string
	for _, n := range r.Networks {
		nets = append(nets, strings.Split(n, ",")...)
	}
	p, cfg, err := s.Bastions.AddPeer(ctx, r.Bastion, r.Name, nets, r.PublicKey)
	if err != nil {
		return nil, toStatus(err)
	}
	out := peerOf(r.Bastion, p, bastion.PeerStat{})
	out.Config = cfg
	return out, nil
}

// RemoveBastionPeer removes a peer (its tunnel is cut once the bastion's
// device has it removed: at once on the active chassis).
func (s *Server) RemoveBastionPeer(ctx context.Context, r *api.BastionPeerRef) (*api.Bastion, error) {
	if err := s.bastionsReady(); err != nil {
		return nil, err
	}
	b, err := s.Bastions.RemovePeer(ctx, r.Bastion, r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	if b, err = s.Bastions.Get(b.Name); err != nil {
		return nil, toStatus(err)
	}
	return s.toBastion(b), nil
}
