package api_test

import (
	"testing"

	"github.com/quantumnet/quantumnet/pkg/api"
)

func TestSocketPath(t *testing.T) {
	t.Setenv(api.SocketEnv, "")
	if got := api.SocketPath(""); got != api.DefaultSocket {
		t.Errorf("SocketPath(\"\") = %q, want the default %q", got, api.DefaultSocket)
	}
	t.Setenv(api.SocketEnv, "/tmp/x.sock")
	if got := api.SocketPath(""); got != "/tmp/x.sock" {
		t.Errorf("SocketPath(\"\") with %s set = %q, want /tmp/x.sock", api.SocketEnv, got)
	}
	if got := api.SocketPath("/run/y.sock"); got != "/run/y.sock" {
		t.Errorf("SocketPath(explicit) = %q, want the explicit path", got)
	}
}

// The go-plugin protocol version follows the API version.
func TestHandshakeFollowsAPIVersion(t *testing.T) {
	if api.Handshake.ProtocolVersion != uint(api.APIVersion) {
		t.Fatalf("Handshake.ProtocolVersion = %d, APIVersion = %d", api.Handshake.ProtocolVersion, api.APIVersion)
	}
}
