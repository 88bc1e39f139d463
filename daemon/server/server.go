// Package server is the daemon's gRPC service: it validates requests, calls
// the domain packages and maps their errors to status codes the thin
// clients turn into their protocol's codes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/apiview"
	"github.com/quantumnet/quantumnet/daemon/attach"
	bnstore "github.com/quantumnet/quantumnet/daemon/bastion/nbstore"
	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/portmap"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/daemon/trace"
	"github.com/quantumnet/quantumnet/daemon/vm"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Version is the daemon's version string (set by the build).
var Version = "dev"

// Server implements api.QuantumNetServer.
type Server struct {
	api.UnimplementedQuantumNetServer
	Attach   *attach.Manager
	Alloc    *nbstore.Store
	VM       *vm.Manager
	SG       *sgstore.Manager
	Svc      *netsvc.Manager
	Networks *netstore.Manager
	Routers  *rtstore.Manager // routers and floating IPs
	LBs      *lbstore.Manager // load balancers (nil: refused as unavailable)
	Tracer   *trace.Tracer    // ovn-trace (nil: refused as unavailable)
	Events   *events.Hub      // the event streams (nil: refused as unavailable)
	BGP      BGPSpeaker       // the BGP speaker (nil: off)
	Bastions *bnstore.Manager // WireGuard bastions (nil: refused as unavailable)
	// BastionStats are the peers' handshakes of the bastions running here
	// (nil: none shown).
	BastionStats BastionStats
	Log          *slog.Logger
}

var _ api.QuantumNetServer = (*Server)(nil)

// Hello answers the versioned handshake.
func (s *Server) Hello(_ context.Context, req *api.HelloRequest) (*api.HelloReply, error) {
	s.Log.Debug("hello", "client", req.Client, "api_version", req.ApiVersion)
	return &api.HelloReply{ApiVersion: api.APIVersion, MinApiVersion: api.MinAPIVersion, DaemonVersion: Version, Chassis: s.Attach.Chassis}, nil
}

// Status reports readiness.
func (s *Server) Status(context.Context, *api.StatusRequest) (*api.StatusReply, error) {
	m := s.Attach
	problems := m.Ready()
	return &api.StatusReply{
		Ready: len(problems) == 0, NbConnected: m.NB.Connected(), SbConnected: m.SB.Connected(),
		OvsConnected: m.OVS.Connected(), ChassisRegistered: m.SB.Connected() && m.SB.ChassisRegistered(m.Chassis),
		Chassis: m.Chassis, DatapathType: s.Attach.DatapathType(), Problems: append(problems, s.skipped()...),
	}, nil
}

// skipped are the rows reconcile and sync could not handle and skipped:
// reported, but the rest is served (they do not make STATUS not ready).
func (s *Server) skipped() []string {
	out := s.Attach.Problems()
	if s.SG != nil {
		out = append(out, s.SG.Problems()...)
	}
	return out
}

func request(r *api.CNIRequest) (attach.Request, error) {
	req := attach.Request{ContainerID: r.ContainerId, Ifname: r.Ifname, Netns: r.Netns, Network: r.Network,
		CNINetwork: r.CniNetworkName, IPs: r.Ips, MAC: r.Mac, DNSName: network.Label(r.Name), DefaultRoute: r.DefaultRoute}
	groups, err := secgroup.NormalizeGroups(r.SecurityGroups)
	if err != nil {
		return req, status.Error(codes.InvalidArgument, err.Error())
	}
	req.SecurityGroups = groups
	if req.LoadBalancers, err = loadBalancers("loadBalancers", r.LoadBalancers); err != nil {
		return req, status.Error(codes.InvalidArgument, err.Error())
	}
	for i, m := range r.PortMappings {
		hostIP, err := portmap.ParseHostIP(i, m.HostIp)
		if err != nil {
			return req, status.Error(codes.InvalidArgument, err.Error())
		}
		req.PortMappings = append(req.PortMappings, ovn.PortMapping{HostPort: m.HostPort, ContainerPort: m.ContainerPort, Protocol: m.Protocol, HostIP: hostIP})
	}
	return req, nil
}

// CNIAdd attaches a container.
func (s *Server) CNIAdd(ctx context.Context, r *api.CNIRequest) (*api.CNIResult, error) {
	req, err := request(r)
	if err != nil {
		return nil, err
	}
	res, err := s.Attach.Add(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.CNIResult{
		Interfaces: []*api.CNIInterface{
			{Name: res.HostIfname},
			{Name: r.Ifname, Mac: res.MAC.String(), Sandbox: r.Netns, Mtu: uint32(res.MTU)},
		},
	}
	for i, a := range res.Addrs {
		out.Ips = append(out.Ips, &api.CNIIPConfig{Address: a.String(), Gateway: res.Gateways[i].String(), Interface: 1})
		if !slices.Contains(res.DefaultVia, res.Gateways[i]) {
			continue // another interface of the container has the default route
		}
		dst := "0.0.0.0/0"
		if a.Addr().Is6() {
			dst = "::/0"
		}
		out.Routes = append(out.Routes, &api.CNIRoute{Dst: dst, Gw: res.Gateways[i].String()})
	}
	if res.DNSDomain != "" {
		out.DnsDomain = res.DNSDomain
		out.DnsSearch = []string{res.DNSDomain}
	}
	for _, a := range res.DNSServers {
		out.DnsNameservers = append(out.DnsNameservers, a.String())
	}
	return out, nil
}

// CNIDel detaches a container (idempotent).
func (s *Server) CNIDel(ctx context.Context, r *api.CNIRequest) (*api.Empty, error) {
	req, _ := request(r) // security groups do not matter here
	if err := s.Attach.Del(ctx, req); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// CNICheck verifies an attachment.
func (s *Server) CNICheck(ctx context.Context, r *api.CNIRequest) (*api.Empty, error) {
	req, _ := request(r) // security groups do not matter here
	if err := s.Attach.Check(ctx, req); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// CNIGC removes stale attachments.
func (s *Server) CNIGC(ctx context.Context, r *api.CNIGCRequest) (*api.CNIGCReply, error) {
	if r.CniNetworkName == "" {
		return nil, status.Error(codes.InvalidArgument, "name: the CNI network name is required for GC")
	}
	valid := make([]attach.Attachment, 0, len(r.Valid))
	for _, v := range r.Valid {
		valid = append(valid, attach.Attachment{ContainerID: v.ContainerId, Ifname: v.Ifname})
	}
	removed, err := s.Attach.GC(ctx, r.CniNetworkName, valid)
	out := &api.CNIGCReply{}
	for _, a := range removed {
		out.Removed = append(out.Removed, &api.CNIAttachment{ContainerId: a.ContainerID, Ifname: a.Ifname})
	}
	if err != nil {
		return out, toStatus(err)
	}
	return out, nil
}

// IPAMShow reports a network's allocations.
func (s *Server) IPAMShow(_ context.Context, r *api.NetworkRef) (*api.IPAMUsage, error) {
	if err := network.ValidateName(r.Name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	us, err := s.Alloc.Show(r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.IPAMUsage{Network: r.Name}
	for _, u := range us {
		sub := &api.IPAMSubnet{Subnet: u.Subnet.String(), Range: u.Range, Size: u.Size, Used: u.Used, Reserved: u.Reserved, Free: u.Free}
		for _, ip := range nbstore.SortedAddrs(u.Reservations) {
			e := u.Reservations[ip]
			sub.Reservations = append(sub.Reservations, &api.IPAMReservation{Network: r.Name, Address: ip.String(), Owner: e.Owner, Mac: e.MAC, Port: e.Port})
		}
		out.Subnets = append(out.Subnets, sub)
	}
	return out, nil
}

// IPAMReserve reserves an address (the next free one, or the one asked for).
func (s *Server) IPAMReserve(ctx context.Context, r *api.IPAMReserveRequest) (*api.IPAMReservation, error) {
	if err := network.ValidateName(r.Network); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var ip netip.Addr
	if r.Address != "" {
		var err error
		if ip, err = netip.ParseAddr(r.Address); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "address: %q is not an IP address", r.Address)
		}
	}
	var mac net.HardwareAddr
	if r.Mac != "" {
		var err error
		if mac, err = net.ParseMAC(r.Mac); err != nil || len(mac) != 6 {
			return nil, status.Errorf(codes.InvalidArgument, "mac: %q is not an Ethernet address", r.Mac)
		}
	}
	got, err := s.Alloc.Reserve(ctx, r.Network, r.Owner, ip, r.Ipv6, mac)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.IPAMReservation{Network: r.Network, Address: got.String(), Owner: r.Owner}
	if mac != nil {
		out.Mac = mac.String()
	}
	return out, nil
}

// IPAMRelease ends a reservation.
func (s *Server) IPAMRelease(ctx context.Context, r *api.IPAMReleaseRequest) (*api.Empty, error) {
	if err := network.ValidateName(r.Network); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ip, err := netip.ParseAddr(r.Address)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "address: %q is not an IP address", r.Address)
	}
	if err := s.Alloc.Release(ctx, r.Network, ip); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// ListPorts lists QuantumNet's logical ports.
func (s *Server) ListPorts(_ context.Context, f *api.PortFilter) (*api.PortList, error) {
	match := map[string]string{}
	if f.Network != "" {
		match[keys.Network] = f.Network
	}
	ports, err := s.Attach.NB.Ports(match)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.PortList{}
	fips := s.fipsByPort()
	for _, p := range ports {
		out.Ports = append(out.Ports, s.portView(p, fips))
	}
	sort.Slice(out.Ports, func(i, j int) bool {
		if out.Ports[i].Network != out.Ports[j].Network {
			return out.Ports[i].Network < out.Ports[j].Network
		}
		return out.Ports[i].Name < out.Ports[j].Name
	})
	return out, nil
}

// fipsByPort are the ports' floating IPs (none without routers).
func (s *Server) fipsByPort() map[string][]netip.Addr {
	if s.Routers == nil {
		return nil
	}
	return s.Routers.FIPsByPort()
}

// port is a logical port as shown to users.
func (s *Server) port(p ovn.Port) *api.Port { return s.portView(p, s.fipsByPort()) }

// portView is port with the floating IPs of every port at hand.
func (s *Server) portView(p ovn.Port, fips map[string][]netip.Addr) *api.Port {
	var sb apiview.Bindings
	if s.Attach.SB.Connected() {
		sb = s.Attach.SB
	}
	return apiview.Port(p, sb, fips[p.Name])
}

// codeOf is the one mapping of the error vocabulary (pkg/errs) to gRPC
// codes; pkg/rpcclient maps them back.
var codeOf = map[error]codes.Code{
	errs.Invalid:     codes.InvalidArgument,
	errs.NotFound:    codes.NotFound,
	errs.Conflict:    codes.AlreadyExists,
	errs.Exhausted:   codes.ResourceExhausted,
	errs.InUse:       codes.FailedPrecondition,
	errs.Unavailable: codes.Unavailable,
	errs.Timeout:     codes.DeadlineExceeded,
}

// toStatus maps domain errors to gRPC codes.
func toStatus(err error) error {
	code := codes.Internal
	switch {
	case errors.As(err, new(*ovs.WaitError)):
		code = codes.Unavailable // lost optimistic retries: try again later
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	default:
		if c, ok := codeOf[errs.Kind(err)]; ok {
			code = c
		}
	}
	return status.Error(code, err.Error())
}

func vmDomain(r *api.VMRequest) (vm.Domain, error) {
	d := vm.Domain{Name: r.Domain, UUID: r.Uuid}
	for _, n := range r.Nics {
		nic := vm.NIC{InterfaceID: n.InterfaceId, MAC: n.Mac, Network: n.Network}
		if nic.InterfaceID == "" {
			return d, status.Errorf(codes.InvalidArgument, "domain %s: a NIC without interfaceid", r.Domain)
		}
		groups, err := secgroup.NormalizeGroups(n.SecurityGroups)
		if err != nil {
			return d, status.Errorf(codes.InvalidArgument, "domain %s: NIC %s: %v", r.Domain, nic.InterfaceID, err)
		}
		nic.SecurityGroups = groups
		if nic.LoadBalancers, err = loadBalancers("load-balancers", n.LoadBalancers); err != nil {
			return d, status.Errorf(codes.InvalidArgument, "domain %s: NIC %s: %v", r.Domain, nic.InterfaceID, err)
		}
		if err := network.ValidateName(nic.Network); err != nil {
			return d, status.Errorf(codes.InvalidArgument, "domain %s: NIC %s: %v", r.Domain, nic.InterfaceID, err)
		}
		for _, s := range n.Ips {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return d, status.Errorf(codes.InvalidArgument, "domain %s: NIC %s: ip %q is not an IP address", r.Domain, nic.InterfaceID, s)
			}
			nic.IPs = append(nic.IPs, ip)
		}
		d.NICs = append(d.NICs, nic)
	}
	return d, nil
}

// VMPrepare gives a domain's NICs their ports (prepare, start).
func (s *Server) VMPrepare(ctx context.Context, r *api.VMRequest) (*api.VMReply, error) {
	d, err := vmDomain(r)
	if err != nil {
		return nil, err
	}
	if !s.Attach.NB.Connected() {
		return nil, status.Error(codes.Unavailable, "not connected to OVN Northbound")
	}
	ports, err := s.VM.Prepare(ctx, d)
	if err != nil {
		return nil, toStatus(err)
	}
	if s.Attach.DatapathType() == "netdev" {
		for _, n := range r.Nics {
			if n.ChecksumOffload {
				s.Log.Warn("VM NIC offloads checksums onto the userspace datapath, which does not complete them: "+
					"the guest's TCP and UDP (DNS too) will arrive with bad checksums; "+
					"give the interface <driver name='qemu'><host csum='off'/></driver>",
					"domain", r.Domain, "port", n.InterfaceId)
			}
		}
	}
	out := &api.VMReply{}
	for _, p := range ports {
		vp := &api.VMPort{InterfaceId: p.InterfaceID, Network: p.Network, Mac: p.MAC}
		for _, a := range p.Addrs {
			vp.Addresses = append(vp.Addresses, a.String())
		}
		out.Ports = append(out.Ports, vp)
	}
	return out, nil
}

// VMStarted returns at once (the binding is confirmed in the background),
// except on a migration's destination, where it waits for the flows.
func (s *Server) VMStarted(ctx context.Context, r *api.VMRequest) (*api.Empty, error) {
	d, err := vmDomain(r)
	if err != nil {
		return nil, err
	}
	if err := s.VM.Started(ctx, d); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// VMStopped: the domain's ports are unbound; for a migration it completes
// (on the source) or rolls back (on the destination) the handoff.
func (s *Server) VMStopped(ctx context.Context, r *api.VMRequest) (*api.Empty, error) {
	if err := s.VM.Released(ctx, vm.Domain{Name: r.Domain, UUID: r.Uuid}); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// VMMigrateIn binds a migrating domain's ports on both chassis.
func (s *Server) VMMigrateIn(ctx context.Context, r *api.VMRequest) (*api.Empty, error) {
	d, err := vmDomain(r)
	if err != nil {
		return nil, err
	}
	if err := s.VM.MigrateIn(ctx, d); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// VMReconnect re-checks a running domain's ports after libvirtd restarted.
func (s *Server) VMReconnect(ctx context.Context, r *api.VMRequest) (*api.Empty, error) {
	d, err := vmDomain(r)
	if err != nil {
		return nil, err
	}
	_ = s.VM.Started(ctx, d)
	return &api.Empty{}, nil
}

// loadBalancers normalizes the load balancers a port joins (field: the
// name the client used): sorted, without blanks or duplicates, each a
// load balancer name.
func loadBalancers(field string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if err := lb.ValidateName(n); err != nil {
			return nil, fmt.Errorf("%s: %q is not a load balancer name (1-32 lower-case letters, digits, '-' or '_')", field, n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
