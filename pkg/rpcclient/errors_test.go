package rpcclient

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Every kind of the vocabulary comes back from exactly one gRPC code.
func TestKindOfCoversEveryKind(t *testing.T) {
	seen := map[error]codes.Code{}
	for code, kind := range kindOf {
		if prev, dup := seen[kind]; dup {
			t.Errorf("kind %q comes back from both %v and %v", kind, prev, code)
		}
		seen[kind] = code
	}
	for _, k := range errs.Kinds {
		if _, ok := seen[k]; !ok {
			t.Errorf("kind %q: no gRPC code maps back to it", k)
		}
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{status.Error(codes.InvalidArgument, "network: required"), errs.Invalid},
		{status.Error(codes.NotFound, `network "x"`), errs.NotFound},
		{status.Error(codes.AlreadyExists, "10.0.0.5 in use"), errs.Conflict},
		{status.Error(codes.ResourceExhausted, "no free address"), errs.Exhausted},
		{status.Error(codes.FailedPrecondition, "network blue has ports"), errs.InUse},
		{status.Error(codes.Unavailable, "not ready"), errs.Unavailable},
		{status.Error(codes.DeadlineExceeded, "ovn-installed"), errs.Timeout},
		{status.Error(codes.Internal, "boom"), nil},
		{status.Error(codes.Unknown, "boom"), nil},
		{fmt.Errorf("%w: socket /x: no such file", ErrUnreachable), errs.Unavailable},
		{fmt.Errorf("%w: 1 vs 2", ErrIncompatible), nil},
		{errors.New("plain"), nil},
		{nil, nil},
	} {
		if got := Kind(tc.err); got != tc.want {
			t.Errorf("Kind(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// statusOf is what the daemon answers for an error of kind k.
func statusOf(t *testing.T, k error) error {
	t.Helper()
	for code, kind := range kindOf {
		if kind == k {
			return status.Error(code, "daemon says "+k.Error())
		}
	}
	t.Fatalf("no gRPC code for kind %q", k)
	return nil
}

func TestCNICodesTable(t *testing.T) {
	want := map[error]uint{
		errs.Unavailable: 11,
		errs.Invalid:     7,
		errs.Exhausted:   100,
		errs.Conflict:    101,
		errs.NotFound:    102,
		errs.Timeout:     103,
		errs.InUse:       999,
	}
	for _, k := range errs.Kinds {
		code, ok := cniCodes[k]
		if !ok {
			t.Errorf("kind %q has no CNI code", k)
			continue
		}
		if code != want[k] {
			t.Errorf("kind %q: CNI code %d, want %d", k, code, want[k])
		}
		if got := CNIError(statusOf(t, k)).Code; got != want[k] {
			t.Errorf("CNIError(daemon's %q) = %d, want %d", k, got, want[k])
		}
	}
}

func TestCNIErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code uint
	}{
		{fmt.Errorf("%w: socket /x: no such file", ErrUnreachable), types.ErrTryAgainLater},
		{status.Error(codes.Unavailable, "connection error: desc = transport: dial unix /x: connect: connection refused"), types.ErrTryAgainLater},
		{status.Error(codes.Unavailable, "not ready: not connected to OVN Northbound"), types.ErrTryAgainLater},
		{status.Error(codes.InvalidArgument, "network: required"), types.ErrInvalidNetworkConfig},
		{status.Error(codes.InvalidArgument, "CNI_IFNAME \"a/b\" is not valid"), types.ErrInvalidEnvironmentVariables},
		{status.Error(codes.ResourceExhausted, "no free address"), CodeExhausted},
		{status.Error(codes.AlreadyExists, "10.0.0.5 in use"), CodeConflict},
		{status.Error(codes.NotFound, "network \"x\""), CodeNotFound},
		{status.Error(codes.DeadlineExceeded, "ovn-installed"), CodeTimeout},
		{status.Error(codes.FailedPrecondition, "in use"), types.ErrInternal},
		{status.Error(codes.Internal, "boom"), types.ErrInternal},
		{errors.New("boom"), types.ErrInternal},
		{fmt.Errorf("%w: 1 vs 2", ErrIncompatible), types.ErrIncompatibleCNIVersion},
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

// The messages: the daemon's own, "not ready" with the reason as details,
// or why the daemon could not be reached.
func TestCNIErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err           error
		msg, details  string
		msgHasPrefix  bool
		wantUnreached bool
	}{
		{status.Error(codes.NotFound, `network "x": not found`), `network "x": not found`, "", false, false},
		{status.Error(codes.Unavailable, "not ready: chassis not registered"), "quantumnetd is not ready", "not ready: chassis not registered", false, false},
		{fmt.Errorf("%w: socket /x: gone", ErrUnreachable), "quantumnetd is not reachable (is it running?): socket /x: gone", "", false, true},
		{status.Error(codes.Unavailable, "connection error: desc = transport: refused"), "quantumnetd is not reachable (is it running?): rpc error:", "", true, true},
		{fmt.Errorf("%w: client speaks 1, daemon 2 (oldest served 2)", ErrIncompatible), "quantumnetd speaks another API version", "quantumnetd API version mismatch: client speaks 1, daemon 2 (oldest served 2)", false, false},
		{status.Error(codes.Internal, "boom"), "boom", "", false, false},
	} {
		e := CNIError(tc.err)
		okMsg := e.Msg == tc.msg || (tc.msgHasPrefix && strings.HasPrefix(e.Msg, tc.msg))
		if !okMsg || e.Details != tc.details {
			t.Errorf("CNIError(%v) = %q / %q, want %q / %q", tc.err, e.Msg, e.Details, tc.msg, tc.details)
		}
		if Unreachable(tc.err) != tc.wantUnreached {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, !tc.wantUnreached, tc.wantUnreached)
		}
	}
}

func TestExitTables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table map[error]int
		exit  func(error) int
		want  map[error]int
	}{
		{"hook", hookExits, HookExit, map[error]int{
			errs.Invalid: 1, errs.NotFound: 1, errs.Conflict: 1, errs.Exhausted: 1, errs.InUse: 1, errs.Unavailable: 1, errs.Timeout: 1,
		}},
		{"qnetctl", cliExits, CLIExit, map[error]int{
			errs.Invalid: 1, errs.NotFound: 1, errs.Conflict: 1, errs.Exhausted: 1, errs.InUse: 1, errs.Unavailable: 1, errs.Timeout: 1,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range errs.Kinds {
				code, ok := tc.table[k]
				if !ok {
					t.Errorf("kind %q has no exit code", k)
					continue
				}
				if code != tc.want[k] {
					t.Errorf("kind %q: exit %d, want %d", k, code, tc.want[k])
				}
				if got := tc.exit(statusOf(t, k)); got != tc.want[k] {
					t.Errorf("exit for the daemon's %q = %d, want %d", k, got, tc.want[k])
				}
			}
			for _, err := range []error{
				status.Error(codes.Internal, "boom"), errors.New("plain"),
				fmt.Errorf("%w: 1 vs 2", ErrIncompatible), fmt.Errorf("%w: gone", ErrUnreachable),
			} {
				if got := tc.exit(err); got != 1 {
					t.Errorf("exit for %v = %d, want 1", err, got)
				}
			}
			if got := tc.exit(nil); got != 0 {
				t.Errorf("exit for no error = %d, want 0", got)
			}
		})
	}
}
