package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/BurntSushi/toml"
)

// ConfigPath is the daemon's config file (daemon/config.DefaultPath), which
// the hook reads for the two settings it needs: libvirtd runs hooks with a
// cleaned environment, so QUANTUMNET_SOCKET and QUANTUMNET_BRIDGE set for
// the daemon never reach it. QUANTUMNET_CONFIG overrides it.
var ConfigPath = "/etc/quantumnet/quantumnetd.toml"

// settings are the hook's view of the daemon's config.
type settings struct {
	Socket string // "" : api.SocketPath's default
	Bridge string
}

// hookConfig is the part of the daemon's config file the hook reads; the
// decoder ignores every other key.
type hookConfig struct {
	Chassis struct {
		IntegrationBridge string `toml:"integration_bridge"`
	} `toml:"chassis"`
	Daemon struct {
		Socket string `toml:"socket"`
	} `toml:"daemon"`
}

// loadSettings is, for each setting, the environment's value if set (a hook
// run by hand), else the config file's, else the default. A missing config
// file means defaults; an unreadable or malformed one is an error (the
// daemon would not start with it either).
func loadSettings() (settings, error) {
	s := settings{Bridge: "br-int"}
	path := ConfigPath
	if p := os.Getenv("QUANTUMNET_CONFIG"); p != "" {
		path = p
	}
	var c hookConfig
	if _, err := toml.DecodeFile(path, &c); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Chassis.IntegrationBridge != "" {
		s.Bridge = c.Chassis.IntegrationBridge
	}
	s.Socket = c.Daemon.Socket
	if v := os.Getenv("QUANTUMNET_BRIDGE"); v != "" {
		s.Bridge = v
	}
	if v := os.Getenv("QUANTUMNET_SOCKET"); v != "" {
		s.Socket = v
	}
	return s, nil
}
