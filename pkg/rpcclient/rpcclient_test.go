package rpcclient

import (
	"fmt"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
)

func TestCNIErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code uint
	}{
		{fmt.Errorf("%w: socket /x: no such file", api.ErrUnreachable), types.ErrTryAgainLater},
		{status.Error(codes.Unavailable, "connection error: desc = transport: dial unix /x: connect: connection refused"), types.ErrTryAgainLater},
		{status.Error(codes.Unavailable, "not ready: not connected to OVN Northbound"), types.ErrTryAgainLater},
		{status.Error(codes.InvalidArgument, "network: required"), types.ErrInvalidNetworkConfig},
		{status.Error(codes.InvalidArgument, "CNI_IFNAME \"a/b\" is not valid"), types.ErrInvalidEnvironmentVariables},
		{status.Error(codes.ResourceExhausted, "no free address"), CodeExhausted},
		{status.Error(codes.AlreadyExists, "10.0.0.5 in use"), CodeConflict},
		{status.Error(codes.NotFound, "network \"x\""), CodeNotFound},
		{status.Error(codes.DeadlineExceeded, "ovn-installed"), CodeTimeout},
		{status.Error(codes.Internal, "boom"), types.ErrInternal},
		{fmt.Errorf("%w: 1 vs 2", api.ErrIncompatible), types.ErrIncompatibleCNIVersion},
	} {
		if got := CNIError(tc.err); got.Code != tc.code {
			t.Errorf("CNIError(%v) = %d, want %d", tc.err, got.Code, tc.code)
		}
	}
	if CNIError(nil) != nil {
		t.Error("nil error mapped to a CNI error")
	}
	if Unreachable(status.Error(codes.Unavailable, "not ready: chassis not registered")) {
		t.Error("a daemon's own not-ready answer taken for unreachable")
	}
}
