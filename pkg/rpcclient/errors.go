package rpcclient

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// kindOf is the one mapping of the daemon's gRPC codes back to the error
// vocabulary: the inverse of daemon/server's codeOf. A code missing here
// (Internal, Unknown, ...) has no kind.
var kindOf = map[codes.Code]error{
	codes.InvalidArgument:    errs.Invalid,
	codes.NotFound:           errs.NotFound,
	codes.AlreadyExists:      errs.Conflict,
	codes.ResourceExhausted:  errs.Exhausted,
	codes.FailedPrecondition: errs.InUse,
	codes.Unavailable:        errs.Unavailable,
	codes.DeadlineExceeded:   errs.Timeout,
}

// Kind returns the kind (errs.NotFound, errs.Conflict, ...) of an error from
// Dial or an RPC, or nil when it has none. Failing to reach the daemon is
// errs.Unavailable; ErrIncompatible has no kind.
func Kind(err error) error {
	if err == nil {
		return nil
	}
	if k := errs.Kind(err); k != nil {
		return k
	}
	if s, ok := status.FromError(err); ok {
		return kindOf[s.Code()]
	}
	return nil
}

// Unreachable reports whether err means the daemon could not be reached
// (as opposed to the daemon answering that it is not ready).
func Unreachable(err error) bool {
	if errors.Is(err, ErrUnreachable) {
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

// Message is a one-line description of err for a human (qnetctl, hooks):
// the daemon's own message, or why it could not be reached.
func Message(err error) string {
	if errors.Is(err, ErrUnreachable) {
		return err.Error()
	}
	if Unreachable(err) {
		return fmt.Sprintf("%v: %v", ErrUnreachable, err)
	}
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}
