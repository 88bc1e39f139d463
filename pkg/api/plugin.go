package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
)

// APIVersion is the version of this API; MinAPIVersion the oldest a daemon
// still serves. The Hello RPC carries both; clients refuse a mismatch.
const (
	APIVersion    uint32 = 1
	MinAPIVersion uint32 = 1
)

// PluginName is the name the service is dispensed under.
const PluginName = "quantumnet"

// DefaultSocket is the well-known path of the daemon socket.
const DefaultSocket = "/run/quantumnet/quantumnetd.sock"

// SocketEnv overrides DefaultSocket for every client (tests, sandboxes).
const SocketEnv = "QUANTUMNET_SOCKET"

// Handshake is the go-plugin handshake; ProtocolVersion follows APIVersion.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  uint(APIVersion),
	MagicCookieKey:   "QUANTUMNET_PLUGIN",
	MagicCookieValue: "quantumnetd-v1",
}

// GRPCPlugin adapts the QuantumNet service to go-plugin.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl QuantumNetServer
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the service on s.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterQuantumNetServer(s, p.Impl)
	return nil
}

// GRPCClient returns a typed client over c.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewQuantumNetClient(c), nil
}

// SocketPath returns the socket path: explicit, else $QUANTUMNET_SOCKET, else DefaultSocket.
func SocketPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// Server serves the API on a root-only unix socket. Unlike go-plugin's own
// Serve, nothing a client sends can stop it: the controller's Shutdown is a
// no-op, and only Stop (the daemon's signal handler) ends it.
type Server struct {
	path string
	lis  net.Listener
	grpc *grpc.Server
}

// Listen creates the socket directory (0700) and socket (0600), replacing a
// stale socket, and registers impl.
func Listen(path string, impl QuantumNetServer, opts ...grpc.ServerOption) (*Server, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s: another quantumnetd is already serving it", path)
	}
	_ = os.Remove(path)
	old := umask(0o177)
	lis, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	s := grpc.NewServer(opts...)
	hs := health.NewServer()
	hs.SetServingStatus(plugin.GRPCServiceName, grpc_health_v1.HealthCheckResponse_SERVING)
	grpc_health_v1.RegisterHealthServer(s, hs)
	s.RegisterService(&controllerDesc, struct{}{})
	RegisterQuantumNetServer(s, impl)
	return &Server{path: path, lis: lis, grpc: s}, nil
}

// Serve blocks until Stop.
func (s *Server) Serve() error {
	err := s.grpc.Serve(s.lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop stops serving (gracefully, waiting for running calls) and removes the socket.
func (s *Server) Stop() {
	s.grpc.GracefulStop()
	_ = os.Remove(s.path)
}

// controllerDesc answers go-plugin's GRPCController.Shutdown, which a client's
// Close or Kill sends, without stopping anything.
var controllerDesc = grpc.ServiceDesc{
	ServiceName: "plugin.GRPCController",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Shutdown",
		Handler: func(_ interface{}, _ context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			return &emptypb.Empty{}, nil
		},
	}},
	Metadata: "plugin/grpc_controller.proto",
}

// Client is a connection to the daemon.
type Client struct {
	QuantumNetClient
	pc   *plugin.Client
	rpc  plugin.ClientProtocol
	done chan struct{}
	once sync.Once
	// Hello is the daemon's answer to the handshake.
	Hello *HelloReply
}

// attached stands for the already running daemon: go-plugin can neither wait
// for it nor kill it.
type attached struct{ done chan struct{} }

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

// ErrUnreachable wraps every failure to reach the daemon.
var ErrUnreachable = errors.New("quantumnetd is not reachable (is it running?)")

// ErrIncompatible is returned when the daemon speaks another API version.
var ErrIncompatible = errors.New("quantumnetd API version mismatch")

// Dial connects to the daemon at socket (see SocketPath) and performs the
// versioned handshake. The caller must Close the client.
func Dial(ctx context.Context, socket, clientName string) (*Client, error) {
	path := SocketPath(socket)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: socket %s: %v", ErrUnreachable, path, err)
	}
	addr := &net.UnixAddr{Net: "unix", Name: path}
	done := make(chan struct{})
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          plugin.PluginSet{PluginName: &GRPCPlugin{}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Reattach: &plugin.ReattachConfig{
			Protocol:        plugin.ProtocolGRPC,
			ProtocolVersion: int(APIVersion),
			Addr:            addr,
			Test:            true, // never let go-plugin watch or kill the daemon
			ReattachFunc:    func() (runner.AttachedRunner, error) { return attached{done}, nil },
		},
	})
	c := &Client{pc: pc, done: done}
	rpc, err := pc.Client()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	c.rpc = rpc
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	c.QuantumNetClient = raw.(QuantumNetClient)
	hello, err := c.QuantumNetClient.Hello(ctx, &HelloRequest{ApiVersion: APIVersion, Client: clientName})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, path, err)
	}
	if APIVersion > hello.ApiVersion || APIVersion < hello.MinApiVersion {
		c.Close()
		return nil, fmt.Errorf("%w: client speaks %d, daemon %d (oldest served %d)", ErrIncompatible, APIVersion, hello.ApiVersion, hello.MinApiVersion)
	}
	c.Hello = hello
	return c, nil
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
