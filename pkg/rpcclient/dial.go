// Package rpcclient is how the thin binaries (the CNI plugin, the qemu hook,
// qnetctl) reach quantumnetd: Dial and the versioned handshake, and the one
// mapping of the daemon's gRPC codes back to the error vocabulary (pkg/errs),
// from which each protocol's codes are a table: CNI error codes, the hook's
// exit codes, qnetctl's exit codes.
package rpcclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/errs"
)

// ErrUnreachable wraps every failure to reach the daemon; it is of kind
// errs.Unavailable.
var ErrUnreachable = errs.New(errs.Unavailable, "quantumnetd is not reachable (is it running?)")

// ErrIncompatible is returned when the daemon speaks another API version.
var ErrIncompatible = errors.New("quantumnetd API version mismatch")

// Client is a connection to the daemon.
type Client struct {
	api.QuantumNetClient
	pc   *plugin.Client
	rpc  plugin.ClientProtocol
	done chan struct{}
	once sync.Once
	// Hello is the daemon's answer to the handshake.
	Hello *api.HelloReply
}

// attached stands for the already running daemon: go-plugin can neither wait
// for it nor kill it.
type attached struct{ done chan struct{} }

var _ runner.AttachedRunner = attached{}

func (a attached) Wait(ctx context.Context) error {
	select {
	case <-a.done:
	case <-ctx.Done():
	}
	return nil
}
func (attached) Kill(context.Context) error { return nil }
func (attached) ID() string                 { return "" }
func (attached) PluginToHost(n, a string) (string, string, error) {
	return n, a, nil
}
func (attached) HostToPlugin(n, a string) (string, string, error) {
	return n, a, nil
}

// Dial connects to the daemon at socket (see api.SocketPath: "" means
// $QUANTUMNET_SOCKET or the default path) and performs the versioned
// handshake. The caller must Close the client.
func Dial(ctx context.Context, socket, clientName string) (*Client, error) {
	path := api.SocketPath(socket)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: socket %s: %v", ErrUnreachable, path, err)
	}
	addr := &net.UnixAddr{Net: "unix", Name: path}
	done := make(chan struct{})
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  api.Handshake,
		Plugins:          plugin.PluginSet{api.PluginName: &api.GRPCPlugin{}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Reattach: &plugin.ReattachConfig{
			Protocol:        plugin.ProtocolGRPC,
			ProtocolVersion: int(api.APIVersion),
			Addr:            addr,
			Test:            true, // never let go-plugin watch or kill the daemon
			ReattachFunc:    func() (runner.AttachedRunner, error) { return attached{done}, nil },
		},
	})
	c := &Client{pc: pc, done: done}
	rpc, err := clientCtx(ctx, pc)
	if err != nil {
		if ctx.Err() != nil {
			// pc.Client is still running and holds pc's lock, which Kill
			// would wait for: leave it to the process' exit.
			c.once.Do(func() { close(done) })
		} else {
			c.Close()
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	c.rpc = rpc
	raw, err := rpc.Dispense(api.PluginName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	c.QuantumNetClient = raw.(api.QuantumNetClient)
	hello, err := c.QuantumNetClient.Hello(ctx, &api.HelloRequest{ApiVersion: api.APIVersion, Client: clientName})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	if api.APIVersion > hello.ApiVersion || api.APIVersion < hello.MinApiVersion {
		c.Close()
		return nil, fmt.Errorf("%w: client speaks %d, daemon %d (oldest served %d)", ErrIncompatible, api.APIVersion, hello.ApiVersion, hello.MinApiVersion)
	}
	c.Hello = hello
	return c, nil
}

// clientCtx is pc.Client() bounded by ctx: go-plugin opens its broker
// stream without a deadline, so a stuck daemon (accepting, never
// answering) would hold the caller for about 20 s whatever its timeout.
func clientCtx(ctx context.Context, pc *plugin.Client) (plugin.ClientProtocol, error) {
	type result struct {
		rpc plugin.ClientProtocol
		err error
	}
	ch := make(chan result, 1)
	go func() {
		rpc, err := pc.Client()
		ch <- result{rpc, err}
	}()
	select {
	case r := <-ch:
		return r.rpc, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close closes the connection; the daemon keeps running.
func (c *Client) Close() {
	c.once.Do(func() {
		// Close the connection only: go-plugin's own Close would first send
		// the controller a Shutdown (a no-op here), one more round trip.
		if g, ok := c.rpc.(*plugin.GRPCClient); ok {
			_ = g.Conn.Close()
		} else if c.rpc != nil {
			_ = c.rpc.Close()
		}
		c.pc.Kill()
		close(c.done)
	})
}

// Plugin returns the underlying go-plugin client (tests use it to prove
// that Close and Kill cannot stop the daemon).
func (c *Client) Plugin() *plugin.Client { return c.pc }
