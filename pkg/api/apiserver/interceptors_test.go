package apiserver_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/api/apitest"
)

// panicky panics in ListNetworks (as server.port did on an LSP with
// addresses [""]) and sleeps in GetNetwork until its context ends.
type panicky struct{ *apitest.Daemon }

func (panicky) ListNetworks(context.Context, *api.Empty) (*api.NetworkList, error) {
	var ports []string
	return &api.NetworkList{Networks: []*api.Network{{Name: ports[1]}}}, nil // index out of range
}

func (panicky) GetNetwork(ctx context.Context, _ *api.NetworkRef) (*api.Network, error) {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > 2*time.Minute {
		return nil, status.Errorf(codes.FailedPrecondition, "no server-side deadline (ok=%v, %v)", ok, time.Until(deadline))
	}
	return &api.Network{Name: "bounded"}, nil
}

// A handler's panic is answered with Internal; the daemon keeps serving.
func TestHandlerPanicIsInternal(t *testing.T) {
	path := apitest.SocketPath(t)
	s := apitest.Serve(t, path, panicky{apitest.NewDaemon()})
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		_, err := c.ListNetworks(ctx, &api.Empty{})
		if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "ListNetworks") {
			t.Fatalf("call %d: ListNetworks = %v, want Internal naming the method", i, err)
		}
		if st, err := c.Status(ctx, &api.StatusRequest{}); err != nil || !st.Ready {
			t.Fatalf("Status after a panic = %v, %v", st, err)
		}
	}
	s.AssertServing(t, path)
}

// Unary calls run under a server-side deadline.
func TestServerDeadline(t *testing.T) {
	path := apitest.SocketPath(t)
	apitest.Serve(t, path, panicky{apitest.NewDaemon()})
	c := apitest.Dial(t, path, "qnetctl")
	defer c.Close()
	if n, err := c.GetNetwork(context.Background(), &api.NetworkRef{Name: "x"}); err != nil || n.Name != "bounded" {
		t.Fatalf("GetNetwork = %v, %v", n, err)
	}
}

// 1,000 concurrent calls (more than MaxConcurrentStreams), a tenth of them
// panicking, on 10 connections: every call is answered, the server serves on.
func TestConcurrentCalls(t *testing.T) {
	path := apitest.SocketPath(t)
	s := apitest.Serve(t, path, panicky{apitest.NewDaemon()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1000)
	for conn := 0; conn < 10; conn++ {
		c := apitest.Dial(t, path, "cni")
		defer c.Close()
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if i%10 == 0 {
					if _, err := c.ListNetworks(ctx, &api.Empty{}); status.Code(err) != codes.Internal {
						errc <- err
					}
					return
				}
				if _, err := c.Status(ctx, &api.StatusRequest{}); err != nil {
					errc <- err
				}
			}(i)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("concurrent call: %v", err)
	}
	s.AssertServing(t, path)
}
