package api

import (
	"context"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
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
