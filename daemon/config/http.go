package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// HTTP is the opt-in HTTP listener: metrics, health and the web console. Off unless Listen is set; on anything but a loopback address it
// needs TLS and a bearer token.
type HTTP struct {
	// Listen is HOST:PORT ("127.0.0.1:9476", "[::1]:9476"; "" : off). HOST
	// is an IP address or localhost; an empty HOST is every address.
	Listen string `toml:"listen"`
	// TLSCert and TLSKey are the server's certificate chain and key (PEM);
	// both or neither.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TokenFile holds the bearer token every request but /healthz must
	// carry (Authorization: Bearer TOKEN); "" : none (loopback only).
	TokenFile string `toml:"token_file"`
	// Console serves the web console (daemon/console) under /console/ on
	// the listener; it needs Listen.
	Console bool `toml:"console"`
}

// Enabled reports whether the listener is on.
func (h HTTP) Enabled() bool { return h.Listen != "" }

// Loopback reports whether Listen is on a loopback address only.
func (h HTTP) Loopback() bool {
	host, _, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// validateHTTP checks the [http] section: the address, TLS in pairs, and
// TLS plus a token for an address other hosts can reach.
func (c *Config) validateHTTP() error {
	h := c.HTTP
	if (h.TLSCert == "") != (h.TLSKey == "") {
		if h.TLSCert == "" {
			return fmt.Errorf("http.tls_cert: required with http.tls_key")
		}
		return fmt.Errorf("http.tls_key: required with http.tls_cert")
	}
	for key, path := range map[string]string{"http.tls_cert": h.TLSCert, "http.tls_key": h.TLSKey, "http.token_file": h.TokenFile} {
		if path != "" && !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%s: %q must be an absolute path", key, path)
		}
	}
	if !h.Enabled() {
		if h.Console {
			return fmt.Errorf("http.console: needs http.listen (the console is served on the HTTP listener, e.g. listen = \"127.0.0.1:9476\")")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %q is not HOST:PORT (e.g. 127.0.0.1:9476)", h.Listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("http.listen: %q: port %q is not from 1 to 65535", h.Listen, port)
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "" && !strings.EqualFold(host, "localhost") {
		return fmt.Errorf("http.listen: %q: host %q is not an IP address or localhost", h.Listen, host)
	}
	if h.Loopback() {
		return nil
	}
	if h.TLSCert == "" {
		return fmt.Errorf("http.tls_cert: required (with http.tls_key) when http.listen %q is not a loopback address", h.Listen)
	}
	if h.TokenFile == "" {
		return fmt.Errorf("http.token_file: required when http.listen %q is not a loopback address", h.Listen)
	}
	return nil
}
