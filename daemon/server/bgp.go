package server

import (
	"context"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// BGPSpeaker is the daemon's BGP speaker (daemon/bgp), when [bgp] is on.
type BGPSpeaker interface {
	Status(ctx context.Context) (*api.BGPStatus, error)
}

// GetBGP reports the speaker's neighbours and announced routes; without
// one, enabled is false.
func (s *Server) GetBGP(ctx context.Context, _ *api.Empty) (*api.BGPStatus, error) {
	if s.BGP == nil {
		return &api.BGPStatus{}, nil
	}
	st, err := s.BGP.Status(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return st, nil
}
