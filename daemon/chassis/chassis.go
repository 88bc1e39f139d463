// Package chassis keeps this host's chassis configuration in the local
// Open_vSwitch database: the external_ids ovn-controller reads and the
// integration bridge.
package chassis

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Config is what the chassis needs.
type Config struct {
	Name           string
	SBRemotes      []string
	EncapType      string
	EncapIP        string
	Bridge         string
	DatapathType   string // netdev or system
	BridgeMappings []string
	// CreateMappedBridges: create the bridges of BridgeMappings (with the
	// datapath type of the integration bridge) and delete the ones created
	// so that are no longer mapped; bridges made by others are left alone.
	CreateMappedBridges bool
}

// MappedBridges are the bridges named by the mappings (PHYSNET:BRIDGE).
func (c Config) MappedBridges() []string {
	var out []string
	for _, m := range c.BridgeMappings {
		if _, br, ok := strings.Cut(m, ":"); ok && br != "" {
			out = append(out, br)
		}
	}
	return out
}

// ExternalIDs are the Open_vSwitch external_ids ovn-controller reads.
func (c Config) ExternalIDs() map[string]string {
	return map[string]string{
		"system-id":                c.Name,
		"ovn-remote":               strings.Join(c.SBRemotes, ","),
		"ovn-encap-type":           c.EncapType,
		"ovn-encap-ip":             c.EncapIP,
		"ovn-bridge":               c.Bridge,
		"ovn-bridge-datapath-type": c.DatapathType,
		"ovn-bridge-mappings":      strings.Join(c.BridgeMappings, ","),
	}
}

// Ensure writes what is missing or different (nothing when all is in place).
func Ensure(ctx context.Context, c Config, o *ovs.Client) (bridgeDatapath string, err error) {
	if err := o.EnsureExternalIDs(ctx, c.ExternalIDs()); err != nil {
		return "", err
	}
	dp, err := o.EnsureBridge(ctx, c.Bridge, c.DatapathType)
	if err != nil || !c.CreateMappedBridges {
		return dp, err
	}
	for _, br := range c.MappedBridges() {
		if err := o.EnsureMappedBridge(ctx, br, dp); err != nil {
			return dp, err
		}
	}
	return dp, o.DeleteMappedBridges(ctx, c.MappedBridges())
}

// Run keeps the configuration in place until ctx ends: at once when the OVS
// database connects, then every interval (cheap: it writes only on drift).
func Run(ctx context.Context, c Config, o *ovs.Client, interval time.Duration, log *slog.Logger) {
	var last string
	for {
		wait := 100 * time.Millisecond
		if o.Connected() {
			dp, err := Ensure(ctx, c, o)
			msg := "ok"
			if err != nil {
				msg = err.Error()
			} else if dp != c.DatapathType {
				msg = "datapath " + dp
			}
			if msg != last {
				switch {
				case err != nil:
					log.Warn("chassis configuration failed", "err", err)
				case dp != c.DatapathType:
					log.Warn("integration bridge has another datapath type than configured", "bridge", c.Bridge, "has", dp, "want", c.DatapathType)
				default:
					log.Info("chassis configured", "chassis", c.Name, "bridge", c.Bridge, "datapath_type", dp, "encap_ip", c.EncapIP)
				}
				last = msg
			}
			if err == nil {
				wait = interval
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
