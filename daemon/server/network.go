package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/apiview"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// CreateNetwork validates and creates a network, with its services (DHCP,
// router advertisements, the resolver, DNS records).
func (s *Server) CreateNetwork(ctx context.Context, n *api.Network) (*api.Network, error) {
	spec, err := network.Parse(network.Input{Name: n.Name, Subnet4: n.Subnet4, Gateway4: n.Gateway4,
		Subnet6: n.Subnet6, Gateway6: n.Gateway6, MTU: int(n.Mtu), DNSDomain: n.DnsDomain,
		Range4: n.Range4, Range6: n.Range6, Exclude: n.Exclude, LeaseTime: int(n.LeaseTime),
		DNSServers: n.DnsServers, NTPServers: n.NtpServers, Routes: n.Routes, Upstream: n.DnsUpstream,
		External: n.External, Physnet: n.Physnet, VLAN: int(n.Vlan), FIPRange: n.FipRange})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.Networks.Create(ctx, spec); err != nil {
		return nil, toStatus(err)
	}
	return s.GetNetwork(ctx, &api.NetworkRef{Name: spec.Name})
}

// UpdateNetwork changes a network's MTU, DNS and DHCP settings.
func (s *Server) UpdateNetwork(ctx context.Context, u *api.NetworkUpdate) (*api.Network, error) {
	if err := network.ValidateName(u.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	err := s.Networks.Update(ctx, u.Name, func(in *network.Input) {
		if u.Mtu != nil {
			in.MTU = int(*u.Mtu)
		}
		if u.DnsDomain != nil {
			in.DNSDomain = *u.DnsDomain
		}
		if u.LeaseTime != nil {
			in.LeaseTime = int(*u.LeaseTime)
		}
		for _, l := range []struct {
			from *api.StringList
			to   *[]string
		}{{u.DnsServers, &in.DNSServers}, {u.NtpServers, &in.NTPServers}, {u.Routes, &in.Routes}, {u.DnsUpstream, &in.Upstream}} {
			if l.from != nil {
				*l.to = l.from.Values
			}
		}
	})
	if err != nil {
		return nil, networkStatus(err)
	}
	return s.GetNetwork(ctx, &api.NetworkRef{Name: u.Name})
}

// GetNetwork shows one network.
func (s *Server) GetNetwork(_ context.Context, r *api.NetworkRef) (*api.Network, error) {
	if err := network.ValidateName(r.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	n, err := s.Networks.Get(r.Name)
	if err != nil {
		return nil, networkStatus(err)
	}
	return toNetwork(n), nil
}

// ListNetworks lists networks by name.
func (s *Server) ListNetworks(context.Context, *api.Empty) (*api.NetworkList, error) {
	all, err := s.Networks.List()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.NetworkList{}
	for _, n := range all {
		out.Networks = append(out.Networks, toNetwork(n))
	}
	return out, nil
}

// DeleteNetwork deletes a network without ports.
func (s *Server) DeleteNetwork(ctx context.Context, r *api.NetworkRef) (*api.Empty, error) {
	if err := network.ValidateName(r.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.Networks.Delete(ctx, r.Name); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// networkStatus is toStatus, and DataLoss for a network whose stored spec
// does not parse.
func networkStatus(err error) error {
	if errors.As(err, new(*network.StoredError)) {
		return status.Error(codes.DataLoss, err.Error())
	}
	return toStatus(err)
}

func toNetwork(v netstore.Network) *api.Network { return apiview.Network(v) }

// SetPortDNSName names a port (or takes its name away).
func (s *Server) SetPortDNSName(ctx context.Context, r *api.PortDNSName) (*api.Port, error) {
	p, err := s.Svc.SetDNSName(ctx, r.Port, r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return s.port(p), nil
}
