package server

import (
	"context"
	"net/netip"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/apiview"
	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// Load balancers: requests to daemon/lb/nbstore, views to replies.

func toLB(l lb.LoadBalancer, names []string) *api.LoadBalancer { return apiview.LoadBalancer(l, names) }

func (s *Server) lbReply(l lb.LoadBalancer, err error) (*api.LoadBalancer, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return toLB(l, s.LBs.DNSNames(&l)), nil
}

// optAddr parses an optional address field ("": zero).
func lbOptAddr(field, v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return a, status.Errorf(codes.InvalidArgument, "lb: %s %q is not an IP address", field, v)
	}
	return a, nil
}

func (s *Server) lbs() (*lbstore.Manager, error) {
	if s.LBs == nil {
		return nil, status.Error(codes.Unavailable, "load balancers are not available")
	}
	return s.LBs, nil
}

// CreateLoadBalancer creates a load balancer (its VIP reserved on the network).
func (s *Server) CreateLoadBalancer(ctx context.Context, r *api.LoadBalancer) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	vip, perr := netip.ParseAddr(r.Vip)
	if perr != nil {
		return nil, status.Errorf(codes.InvalidArgument, "lb: vip %q is not an IP address", r.Vip)
	}
	fip, err := lbOptAddr("fip", r.Fip)
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.Create(ctx, lb.LoadBalancer{Name: r.Name, Network: r.Network, VIP: vip, Protocol: r.Protocol, FIP: fip,
		Affinity: int(r.AffinityTimeout)}))
}

// GetLoadBalancer shows a load balancer with its members' health.
func (s *Server) GetLoadBalancer(_ context.Context, r *api.LoadBalancerRef) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.Get(r.Name))
}

// ListLoadBalancers lists load balancers by name.
func (s *Server) ListLoadBalancers(context.Context, *api.Empty) (*api.LoadBalancerList, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	all, err := m.List()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.LoadBalancerList{}
	for _, l := range all {
		out.LoadBalancers = append(out.LoadBalancers, toLB(l, m.DNSNames(&l)))
	}
	return out, nil
}

// DeleteLoadBalancer deletes a load balancer and releases its VIP.
func (s *Server) DeleteLoadBalancer(ctx context.Context, r *api.LoadBalancerRef) (*api.Empty, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	if err := m.Delete(ctx, r.Name); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

func listener(r *api.LoadBalancerListener) lb.Listener {
	if r.Listener == nil {
		return lb.Listener{}
	}
	return lb.Listener{Port: int(r.Listener.Port), MemberPort: int(r.Listener.MemberPort), Name: r.Listener.Name}
}

// AddListener adds a listener.
func (s *Server) AddListener(ctx context.Context, r *api.LoadBalancerListener) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.AddListener(ctx, r.Name, listener(r)))
}

// DeleteListener deletes a listener.
func (s *Server) DeleteListener(ctx context.Context, r *api.LoadBalancerListener) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.DeleteListener(ctx, r.Name, listener(r).Port))
}

// AddMember adds a member.
func (s *Server) AddMember(ctx context.Context, r *api.LoadBalancerMemberRef) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.AddMember(ctx, r.Name, r.Member, int(r.Weight)))
}

// DeleteMember deletes a member.
func (s *Server) DeleteMember(ctx context.Context, r *api.LoadBalancerMemberRef) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.DeleteMember(ctx, r.Name, r.Member))
}

// SetMemberEnabled puts a member in or out of rotation.
func (s *Server) SetMemberEnabled(ctx context.Context, r *api.LoadBalancerMemberRef) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	return s.lbReply(m.SetMemberEnabled(ctx, r.Name, r.Member, r.Enabled))
}

// SetHealthCheck sets or clears the health check.
func (s *Server) SetHealthCheck(ctx context.Context, r *api.LoadBalancerHealthCheckSet) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	var h *lb.HealthCheck
	if x := r.HealthCheck; x != nil {
		h = &lb.HealthCheck{Interval: int(x.Interval), Timeout: int(x.Timeout), Success: int(x.Success), Failure: int(x.Failure)}
	}
	return s.lbReply(m.SetHealthCheck(ctx, r.Name, h))
}

// UpdateLoadBalancer puts the listeners on a floating IP (or takes them
// off) and sets session affinity; unset fields stay.
func (s *Server) UpdateLoadBalancer(ctx context.Context, r *api.LoadBalancerUpdate) (*api.LoadBalancer, error) {
	m, err := s.lbs()
	if err != nil {
		return nil, err
	}
	var fip *netip.Addr
	if r.Fip != nil {
		a, err := lbOptAddr("fip", *r.Fip)
		if err != nil {
			return nil, err
		}
		fip = &a
	}
	var aff *int
	if r.AffinityTimeout != nil {
		v := int(*r.AffinityTimeout)
		aff = &v
	}
	return s.lbReply(m.Update(ctx, r.Name, fip, aff))
}
