package rpcclient

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// DialFunc connects to the daemon: a client and how to close it.
type DialFunc func(context.Context) (api.QuantumNetClient, func(), error)

// WatchHooks tell a watcher's caller about the connection.
type WatchHooks struct {
	// Lost: the stream broke (the daemon went away); reconnecting.
	Lost func(err error)
	// Reconnected: a new stream is open after a loss; a fresh snapshot
	// follows (the caller's view restarts from it: nothing is lost silently).
	Reconnected func()
}

// Backoff bounds of Watch's reconnection attempts.
const (
	WatchMinBackoff = 100 * time.Millisecond
	WatchMaxBackoff = 5 * time.Second
)

// Watch streams the daemon's events of req to handle until ctx ends (nil)
// or handle fails (its error). A broken stream is reopened, with backoff,
// on a new connection; failing before any event came (the daemon not
// running), or the daemon refusing the request (invalid, unimplemented),
// ends it with that error.
func Watch(ctx context.Context, dial DialFunc, req *api.WatchRequest, handle func(*api.Event) error, hooks WatchHooks) error {
	wait := WatchMinBackoff
	lost, ever := false, false
	opened := func() {
		if lost && hooks.Reconnected != nil {
			hooks.Reconnected()
		}
		lost, ever = false, true
	}
	for {
		got, err := watchOnce(ctx, dial, req, handle, opened)
		var he handlerError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &he):
			return he.err
		case final(err) || !ever:
			return err
		}
		if got {
			wait = WatchMinBackoff // it worked for a while: retry soon
		}
		if !lost {
			lost = true
			if hooks.Lost != nil {
				hooks.Lost(err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, WatchMaxBackoff)
	}
}

// handlerError is handle's error, which ends Watch.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// final are the errors no reconnection cures.
func final(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.Unimplemented, codes.PermissionDenied, codes.Unauthenticated:
		return true
	}
	return errors.Is(err, ErrIncompatible)
}

// watchOnce runs one connection's stream: got tells whether events came
// (opened runs when the stream answered).
func watchOnce(ctx context.Context, dial DialFunc, req *api.WatchRequest, handle func(*api.Event) error, opened func()) (got bool, err error) {
	c, closeFn, err := dial(ctx)
	if err != nil {
		return false, err
	}
	defer closeFn()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Watch(sctx, req)
	if err != nil {
		return false, err
	}
	for {
		ev, err := st.Recv()
		if err != nil {
			return got, err
		}
		if !got {
			got = true
			opened()
		}
		if err := handle(ev); err != nil {
			return got, handlerError{err}
		}
	}
}
