package server

import (
	"context"
	"net/netip"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/apiview"
	"github.com/quantumnet/quantumnet/daemon/router"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// Routers: requests to daemon/router/nbstore, views to replies.

func toRouter(r router.Router) *api.Router { return apiview.Router(r) }

func routerReply(r router.Router, err error) (*api.Router, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return toRouter(r), nil
}

// CreateRouter creates a router.
func (s *Server) CreateRouter(ctx context.Context, r *api.Router) (*api.Router, error) {
	return routerReply(s.Routers.Create(ctx, r.Name))
}

// GetRouter shows a router (its networks, routes, gateway and the chassis
// where the gateway is active).
func (s *Server) GetRouter(_ context.Context, r *api.RouterRef) (*api.Router, error) {
	return routerReply(s.Routers.Get(r.Name))
}

// ListRouters lists routers by name.
func (s *Server) ListRouters(context.Context, *api.Empty) (*api.RouterList, error) {
	all, err := s.Routers.List()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.RouterList{}
	for _, r := range all {
		out.Routers = append(out.Routers, toRouter(r))
	}
	return out, nil
}

// DeleteRouter deletes a router without networks or gateway.
func (s *Server) DeleteRouter(ctx context.Context, r *api.RouterRef) (*api.Empty, error) {
	if err := s.Routers.Delete(ctx, r.Name); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// AttachNetwork attaches a network to a router.
func (s *Server) AttachNetwork(ctx context.Context, r *api.RouterNetwork) (*api.Router, error) {
	return routerReply(s.Routers.Attach(ctx, r.Router, r.Network))
}

// DetachNetwork detaches a network from its router.
func (s *Server) DetachNetwork(ctx context.Context, r *api.RouterNetwork) (*api.Router, error) {
	return routerReply(s.Routers.Detach(ctx, r.Router, r.Network))
}

// AddRoute adds a static route.
func (s *Server) AddRoute(ctx context.Context, r *api.RouterRoute) (*api.Router, error) {
	return routerReply(s.Routers.AddRoute(ctx, r.Router, r.Prefix, r.Nexthop))
}

// DeleteRoute deletes a static route.
func (s *Server) DeleteRoute(ctx context.Context, r *api.RouterRoute) (*api.Router, error) {
	return routerReply(s.Routers.DeleteRoute(ctx, r.Router, r.Prefix, r.Nexthop))
}

// SetRouterGateway gives a router its gateway on an external network.
func (s *Server) SetRouterGateway(ctx context.Context, r *api.RouterGateway) (*api.Router, error) {
	req := rtstore.GatewayRequest{Router: r.Router, Network: r.Network, NoSNAT: r.NoSnat}
	var err error
	if req.Addr4, err = optAddr("address", r.Address); err != nil {
		return nil, err
	}
	if req.Addr6, err = optAddr("address6", r.Address6); err != nil {
		return nil, err
	}
	return routerReply(s.Routers.SetGateway(ctx, req))
}

// ClearRouterGateway takes a router's gateway away.
func (s *Server) ClearRouterGateway(ctx context.Context, r *api.RouterRef) (*api.Router, error) {
	return routerReply(s.Routers.ClearGateway(ctx, r.Name))
}

// optAddr parses an optional address field.
func optAddr(field, v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return a, status.Errorf(codes.InvalidArgument, "%s: %q is not an IP address", field, v)
	}
	return a, nil
}

// Floating IPs.

func toFIP(f router.FloatingIP) *api.FloatingIP { return apiview.FloatingIP(f) }

func fipReply(f router.FloatingIP, err error) (*api.FloatingIP, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return toFIP(f), nil
}

// requiredAddr parses a required address field.
func requiredAddr(field, v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, status.Errorf(codes.InvalidArgument, "%s: required", field)
	}
	return optAddr(field, v)
}

// CreateFloatingIP allocates a floating IP on an external network.
func (s *Server) CreateFloatingIP(ctx context.Context, r *api.FloatingIP) (*api.FloatingIP, error) {
	addr, err := optAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.CreateFIP(ctx, r.Network, addr))
}

// GetFloatingIP shows a floating IP.
func (s *Server) GetFloatingIP(_ context.Context, r *api.FloatingIPRef) (*api.FloatingIP, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.GetFIP(addr))
}

// ListFloatingIPs lists floating IPs by address.
func (s *Server) ListFloatingIPs(context.Context, *api.Empty) (*api.FloatingIPList, error) {
	all, err := s.Routers.ListFIPs()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.FloatingIPList{}
	for _, f := range all {
		out.FloatingIps = append(out.FloatingIps, toFIP(f))
	}
	return out, nil
}

// DeleteFloatingIP releases a floating IP (disassociating it and deleting
// its port forwards with it).
func (s *Server) DeleteFloatingIP(ctx context.Context, r *api.FloatingIPRef) (*api.Empty, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	if err := s.Routers.DeleteFIP(ctx, addr); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// AssociateFloatingIP maps a floating IP to a port's address.
func (s *Server) AssociateFloatingIP(ctx context.Context, r *api.FloatingIPAssociation) (*api.FloatingIP, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	if r.Port == "" {
		return nil, status.Error(codes.InvalidArgument, "port: required")
	}
	fixed, err := optAddr("fixed_ip", r.FixedIp)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.AssociateFIP(ctx, addr, r.Port, fixed))
}

// DisassociateFloatingIP takes a floating IP's association away.
func (s *Server) DisassociateFloatingIP(ctx context.Context, r *api.FloatingIPRef) (*api.FloatingIP, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.DisassociateFIP(ctx, addr))
}

// AddFloatingIPForward forwards one port of a floating IP to one port of
// a logical port.
func (s *Server) AddFloatingIPForward(ctx context.Context, r *api.FloatingIPForward) (*api.FloatingIP, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	ta, err := optAddr("target_address", r.TargetAddress)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.AddForward(ctx, rtstore.ForwardRequest{Address: addr, Protocol: r.Protocol, Port: r.Port,
		Target: r.Target, TargetPort: r.TargetPort, TargetAddress: ta}))
}

// DeleteFloatingIPForward deletes the forward of a floating IP's protocol
// and port (a no-op when there is none).
func (s *Server) DeleteFloatingIPForward(ctx context.Context, r *api.FloatingIPForward) (*api.FloatingIP, error) {
	addr, err := requiredAddr("address", r.Address)
	if err != nil {
		return nil, err
	}
	return fipReply(s.Routers.DeleteForward(ctx, addr, r.Protocol, r.Port))
}
