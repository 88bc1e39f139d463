package server

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sort"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// CreateNetwork validates and creates a network, with its services (DHCP,
// router advertisements, the resolver, DNS records).
func (s *Server) CreateNetwork(ctx context.Context, n *api.Network) (*api.Network, error) {
	spec, err := network.Parse(network.Input{Name: n.Name, Subnet4: n.Subnet4, Gateway4: n.Gateway4,
		Subnet6: n.Subnet6, Gateway6: n.Gateway6, MTU: int(n.Mtu), DNSDomain: n.DnsDomain,
		Range4: n.Range4, Range6: n.Range6, Exclude: n.Exclude, LeaseTime: int(n.LeaseTime),
		DNSServers: n.DnsServers, NTPServers: n.NtpServers, Routes: n.Routes, Upstream: n.DnsUpstream})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if !s.Attach.NB.Connected() {
		return nil, status.Error(codes.Unavailable, "not connected to OVN Northbound")
	}
	if _, err := s.Attach.NB.CreateSwitch(ctx, spec.Name, spec.ExternalIDs()); err != nil {
		return nil, toStatus(err)
	}
	s.Log.Info("network created", "network", spec.Name, "subnet4", n.Subnet4, "subnet6", n.Subnet6)
	s.ensureServices(ctx, spec.Name)
	s.syncSG(ctx)
	return s.GetNetwork(ctx, &api.NetworkRef{Name: spec.Name})
}

// ensureServices writes a network's service rows now (DHCP options must be
// there for the first port); a failure is logged, the runner retries.
func (s *Server) ensureServices(ctx context.Context, name string) {
	if s.Svc == nil {
		return
	}
	if err := s.Svc.Ensure(ctx, name); err != nil {
		s.Log.Warn("network services: will retry", "network", name, "err", err)
	}
}

// UpdateNetwork changes a network's MTU, DNS and DHCP settings.
func (s *Server) UpdateNetwork(ctx context.Context, u *api.NetworkUpdate) (*api.Network, error) {
	if err := network.ValidateName(u.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ls, err := s.Attach.NB.GetSwitch(u.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	cur, err := network.FromSwitch(ls)
	if err != nil {
		return nil, status.Error(codes.DataLoss, err.Error())
	}
	in := cur.Input()
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
	spec, err := network.Parse(in)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ids := maps.Clone(ls.ExternalIDs)
	for _, k := range []string{keys.MTU, keys.DNSDomain, keys.LeaseTime, keys.DNSServers, keys.NTPServers, keys.Routes, keys.DNSUpstream} {
		delete(ids, k)
	}
	maps.Copy(ids, spec.ExternalIDs())
	if !maps.Equal(ids, ls.ExternalIDs) {
		row := &nbdb.LogicalSwitch{UUID: ls.UUID, ExternalIDs: ids}
		ops, err := s.Attach.NB.UpdateOps(row, &row.ExternalIDs)
		if err != nil {
			return nil, toStatus(err)
		}
		// Only over the settings this change was computed from.
		ops = append([]ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)}, ops...)
		if _, err := s.Attach.NB.TransactResults(ctx, "update network "+u.Name, ops); err != nil {
			return nil, toStatus(fmt.Errorf("%w (retry)", err))
		}
		s.Log.Info("network updated", "network", u.Name)
	}
	s.ensureServices(ctx, u.Name)
	return s.GetNetwork(ctx, &api.NetworkRef{Name: u.Name})
}

// GetNetwork shows one network.
func (s *Server) GetNetwork(_ context.Context, r *api.NetworkRef) (*api.Network, error) {
	if err := network.ValidateName(r.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ls, err := s.Attach.NB.GetSwitch(r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return nil, status.Error(codes.DataLoss, err.Error())
	}
	return s.toNetwork(spec, ls), nil
}

// ListNetworks lists networks by name.
func (s *Server) ListNetworks(context.Context, *api.Empty) (*api.NetworkList, error) {
	lss, err := s.Attach.NB.ListSwitches()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.NetworkList{}
	for i := range lss {
		spec, err := network.FromSwitch(&lss[i])
		if err != nil {
			s.Log.Warn("skipping invalid network", "switch", lss[i].Name, "err", err)
			continue
		}
		out.Networks = append(out.Networks, s.toNetwork(spec, &lss[i]))
	}
	sort.Slice(out.Networks, func(i, j int) bool { return out.Networks[i].Name < out.Networks[j].Name })
	return out, nil
}

func (s *Server) toNetwork(spec network.Spec, ls *nbdb.LogicalSwitch) *api.Network {
	ports, _ := s.Attach.NB.ListPorts(map[string]string{keys.Network: spec.Name})
	in := spec.Input()
	n := &api.Network{Name: in.Name, Subnet4: in.Subnet4, Gateway4: in.Gateway4, Subnet6: in.Subnet6, Gateway6: in.Gateway6,
		Range4: in.Range4, Range6: in.Range6, Exclude: in.Exclude, Mtu: uint32(in.MTU), DnsDomain: in.DNSDomain,
		LeaseTime: uint32(in.LeaseTime), DnsServers: in.DNSServers, NtpServers: in.NTPServers, Routes: in.Routes,
		DnsUpstream: in.Upstream, Uuid: ls.UUID, Ports: uint32(len(ports))}
	res := netsvc.ResolversOf(ls)
	for _, a := range []netip.Addr{res.V4, res.V6} {
		if a.IsValid() {
			n.Resolvers = append(n.Resolvers, a.String())
		}
	}
	return n
}

// SetPortDNSName names a port (or takes its name away).
func (s *Server) SetPortDNSName(ctx context.Context, r *api.PortDNSName) (*api.Port, error) {
	lsp, err := s.Attach.NB.GetPort(r.Port)
	if err != nil {
		return nil, toStatus(fmt.Errorf("port %q: %w", r.Port, err))
	}
	if lsp.ExternalIDs[keys.Network] == "" {
		return nil, toStatus(fmt.Errorf("logical port %s: %w", r.Port, ovn.ErrNotManaged))
	}
	label := netsvc.Label(r.Name)
	if r.Name != "" && label == "" {
		return nil, status.Errorf(codes.InvalidArgument, "name: %q has nothing a DNS name can use (a-z, 0-9, '-')", r.Name)
	}
	if lsp.ExternalIDs[keys.DNSName] != label {
		if label == "" {
			delete(lsp.ExternalIDs, keys.DNSName)
		} else {
			lsp.ExternalIDs[keys.DNSName] = label
		}
		if err := s.Attach.NB.UpdatePort(ctx, lsp, &lsp.ExternalIDs); err != nil {
			return nil, toStatus(err)
		}
	}
	return s.port(ovn.PortOf(lsp)), nil
}
