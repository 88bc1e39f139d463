// Package rpcclient is how the thin binaries reach quantumnetd, and how they
// turn its errors into their protocol's codes.
package rpcclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// CNI error codes of QuantumNet's own (the spec leaves 100+ to plugins).
const (
	CodeExhausted uint = 100 // no free address left in the network
	CodeConflict  uint = 101 // requested address or MAC already in use
	CodeNotFound  uint = 102 // network, port or interface missing
	CodeTimeout   uint = 103 // flows not installed in time
)

// Dial connects to the daemon (socket "" means $QUANTUMNET_SOCKET or the
// default path) and performs the versioned handshake.
func Dial(ctx context.Context, socket, client string) (*api.Client, error) {
	return api.Dial(ctx, socket, client)
}

// Unreachable reports whether err means the daemon could not be reached
// (as opposed to the daemon answering that it is not ready).
func Unreachable(err error) bool {
	if errors.Is(err, api.ErrUnreachable) {
		return true
	}
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable {
		return false
	}
	m := s.Message()
	return strings.HasPrefix(m, "connection error") || strings.Contains(m, "transport") ||
		strings.Contains(m, "error reading from server") || strings.Contains(m, "connection refused")
}

// CNIError maps an error from Dial or an RPC to a CNI error.
func CNIError(err error) *types.Error {
	if err == nil {
		return nil
	}
	if Unreachable(err) {
		return types.NewError(types.ErrTryAgainLater, Message(err), "")
	}
	if errors.Is(err, api.ErrIncompatible) {
		return types.NewError(types.ErrIncompatibleCNIVersion, "quantumnetd speaks another API version", err.Error())
	}
	s, ok := status.FromError(err)
	if !ok {
		return types.NewError(types.ErrInternal, err.Error(), "")
	}
	msg := s.Message()
	switch s.Code() {
	case codes.Unavailable:
		return types.NewError(types.ErrTryAgainLater, "quantumnetd is not ready", msg)
	case codes.InvalidArgument:
		if strings.Contains(msg, "CNI_") {
			return types.NewError(types.ErrInvalidEnvironmentVariables, msg, "")
		}
		return types.NewError(types.ErrInvalidNetworkConfig, msg, "")
	case codes.ResourceExhausted:
		return types.NewError(CodeExhausted, msg, "")
	case codes.AlreadyExists:
		return types.NewError(CodeConflict, msg, "")
	case codes.NotFound:
		return types.NewError(CodeNotFound, msg, "")
	case codes.DeadlineExceeded:
		return types.NewError(CodeTimeout, msg, "")
	}
	return types.NewError(types.ErrInternal, msg, "")
}

// Message is a one-line description of err for a human (qnetctl, hooks).
func Message(err error) string {
	if errors.Is(err, api.ErrUnreachable) {
		return err.Error()
	}
	if Unreachable(err) {
		return fmt.Sprintf("%v: %v", api.ErrUnreachable, err)
	}
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}
