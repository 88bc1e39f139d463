package bgp

import (
	"context"
	"slices"
	"strings"
	"time"

	gapi "github.com/osrg/gobgp/v3/api"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// Status is the speaker's neighbours and announced routes (GetBGP).
func (s *Speaker) Status(ctx context.Context) (*api.BGPStatus, error) {
	s.init()
	out := &api.BGPStatus{Enabled: true, Asn: s.Config.ASN, RouterId: s.Config.RouterID}
	s.mu.Lock()
	for _, r := range s.routes {
		out.Announced = append(out.Announced, &api.BGPRoute{Prefix: r.Prefix.String(), NextHop: r.NextHop.String(), Kind: r.Kind, Reason: r.Reason})
	}
	srv := s.srv
	s.mu.Unlock()
	slices.SortFunc(out.Announced, func(a, b *api.BGPRoute) int { return strings.Compare(a.Prefix, b.Prefix) })
	if srv == nil {
		return out, nil
	}
	err := srv.ListPeer(ctx, &gapi.ListPeerRequest{EnableAdvertised: true}, func(p *gapi.Peer) {
		n := &api.BGPNeighbor{Address: p.GetConf().GetNeighborAddress(), Asn: p.GetConf().GetPeerAsn()}
		if st := p.GetState(); st != nil {
			n.State = strings.ToLower(strings.TrimPrefix(st.SessionState.String(), "SESSION_STATE_"))
		}
		if up := p.GetTimers().GetState().GetUptime(); up != nil && n.State == "established" {
			n.UptimeSeconds = int64(time.Since(up.AsTime()).Seconds())
		}
		for _, a := range p.GetAfiSafis() {
			if st := a.GetState(); st != nil {
				n.Received += uint32(st.Received)
				n.Advertised += uint32(st.Advertised)
			}
		}
		out.Neighbors = append(out.Neighbors, n)
	})
	slices.SortFunc(out.Neighbors, func(a, b *api.BGPNeighbor) int { return strings.Compare(a.Address, b.Address) })
	return out, err
}
