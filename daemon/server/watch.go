package server

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// Event streams: a subscription of the hub (daemon/events) per call, read
// by the call's own goroutine. The stream ends when the client goes (its
// context), or with Unavailable when the daemon stops; no deadline bounds
// it (apiserver puts deadlines on unary calls only).

// Watch streams the changes of the kinds asked (none: all), of one network
// or all: a snapshot, "synced", then events.
func (s *Server) Watch(r *api.WatchRequest, stream grpc.ServerStreamingServer[api.Event]) error {
	f, err := watchFilter(r)
	if err != nil {
		return err
	}
	if s.Events == nil {
		return status.Error(codes.Unavailable, "event streams are not available")
	}
	sub := s.Events.Subscribe(f)
	defer sub.Close()
	ctx := stream.Context()
	for {
		ev, err := sub.Next(ctx)
		switch {
		case errors.Is(err, events.ErrClosed):
			return status.Error(codes.Unavailable, err.Error())
		case err != nil:
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
}

// WatchPorts is Watch of the kind "port".
func (s *Server) WatchPorts(r *api.WatchRequest, stream grpc.ServerStreamingServer[api.Event]) error {
	return s.Watch(&api.WatchRequest{Kinds: []string{events.KindPort}, Network: r.Network}, stream)
}

// watchFilter checks a request (the limits of every request, then its
// meaning) and makes its filter.
func watchFilter(r *api.WatchRequest) (events.Filter, error) {
	if err := checkMessage(r.ProtoReflect(), ""); err != nil {
		return events.Filter{}, status.Error(codes.InvalidArgument, err.Error())
	}
	for _, k := range r.Kinds {
		if !slices.Contains(events.Kinds, k) {
			return events.Filter{}, status.Error(codes.InvalidArgument, fmt.Sprintf("kinds: %q is not one of %v", k, events.Kinds))
		}
	}
	if r.Network != "" {
		if err := network.ValidateName(r.Network); err != nil {
			return events.Filter{}, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return events.Filter{Kinds: r.Kinds, Network: r.Network}, nil
}
