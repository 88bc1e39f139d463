package apiserver_test

import (
	"context"
	"strconv"
	"testing"

	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// streamer answers Watch with one event saying whether its context has a
// deadline, then holds the stream until the client goes.
type streamer struct{ *apitest.Daemon }

func (streamer) Watch(_ *api.WatchRequest, st grpc.ServerStreamingServer[api.Event]) error {
	_, has := st.Context().Deadline()
	if err := st.Send(&api.Event{Type: strconv.FormatBool(has)}); err != nil {
		return err
	}
	<-st.Context().Done()
	return nil
}

// TestStreamsHaveNoDeadline: the deadline interceptor bounds unary calls
// only; an event stream lives as long as its client (and the daemon).
func TestStreamsHaveNoDeadline(t *testing.T) {
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, streamer{apitest.NewDaemon()})
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := c.Watch(ctx, &api.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "false" {
		t.Fatal("the Watch stream got a deadline from the server")
	}
}
