package apiserver

import (
	"context"
	"log/slog"
	"path"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Bounds of the server: what a flood of clients can take.
const (
	// MaxConcurrentStreams is how many calls one connection runs at once;
	// more wait in the client until one ends.
	MaxConcurrentStreams = 128
	// Timeout is the server-side deadline of a unary call.
	Timeout = time.Minute
	// LongTimeout is the deadline of the calls that wait for a port to be
	// ready (their own ready_timeout, at most 5 minutes, bounds the wait).
	LongTimeout = 10 * time.Minute
)

// longCalls wait for ovn-controller (ADD, VM prepare and migration) or sweep
// a host (GC).
var longCalls = map[string]bool{"CNIAdd": true, "CNICheck": true, "CNIGC": true, "VMPrepare": true, "VMMigrateIn": true}

// serverOptions are the options every server gets, before the caller's:
// the stream limit, then panic recovery outermost, then the deadline.
func serverOptions(log *slog.Logger) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.ChainUnaryInterceptor(RecoverUnary(log), Deadline),
		grpc.ChainStreamInterceptor(RecoverStream(log)),
	}
}

// RecoverUnary turns a handler's panic into codes.Internal, logging the
// stack: one bad row or request must not take the host's CNI, VM hooks and
// DNS down with the daemon.
func RecoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer recovered(log, info.FullMethod, &err)
		return handler(ctx, req)
	}
}

// RecoverStream is RecoverUnary for streaming calls.
func RecoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer recovered(log, info.FullMethod, &err)
		return handler(srv, ss)
	}
}

func recovered(log *slog.Logger, method string, err *error) {
	if r := recover(); r != nil {
		log.Error("handler panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
		*err = status.Errorf(codes.Internal, "%s: internal error (the daemon logged it): %v", path.Base(method), r)
	}
}

// Deadline bounds a unary call: Timeout, or LongTimeout for longCalls. A
// client's earlier deadline still wins.
func Deadline(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	d := Timeout
	if longCalls[path.Base(info.FullMethod)] {
		d = LongTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return handler(ctx, req)
}
