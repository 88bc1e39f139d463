package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
)

// events is the event stream as Server-Sent Events: each event of a hub
// subscription (snapshot..., synced, then created/updated/deleted, and
// resync + a fresh snapshot after an overflow) as `data: <Event protojson>`,
// a comment line every KeepAlive. It ends when the client goes, the hub
// closes or the daemon stops (Options.Done); the subscription is closed and
// the handler's goroutine is the only one.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	hub := c.o.Server.Events
	if hub == nil {
		writeError(w, http.StatusServiceUnavailable, "event streams are not available")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(c.o.Done, cancel)()
	sub := hub.Subscribe(events.Filter{})
	defer sub.Close()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The page reconnects after 2 s (EventSource's retry) and takes the
	// fresh snapshot.
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	for {
		nctx, ncancel := context.WithTimeout(ctx, KeepAlive)
		ev, err := sub.Next(nctx)
		ncancel()
		var line []byte
		switch {
		case err == nil:
			b, merr := marshal.Marshal(ev)
			if merr != nil {
				c.o.Log.Error("console: event", "err", merr)
				continue
			}
			line = append(append([]byte("data: "), b...), '\n', '\n')
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			line = []byte(": keep-alive\n\n")
		default: // the client went, the hub closed, the daemon stops
			return
		}
		if _, err := w.Write(line); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
