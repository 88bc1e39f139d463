package netsvc

import (
	"context"
	"fmt"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// SetDNSName names a workload's port <label>.<its network's domain>, the
// label made from name by Label (an empty name takes the port's name
// away), and returns the port as it is then. The runner writes the DNS records.
func (m *Manager) SetDNSName(ctx context.Context, port, name string) (ovn.Port, error) {
	lsp, err := m.NB.GetPort(port)
	if err != nil {
		return ovn.Port{}, fmt.Errorf("port %q: %w", port, err)
	}
	p := ovn.PortOf(lsp)
	if !p.Managed() {
		return ovn.Port{}, fmt.Errorf("logical port %s: %w", port, ovn.ErrNotManaged)
	}
	label := network.Label(name)
	if name != "" && label == "" {
		return ovn.Port{}, errs.New(errs.Invalid, fmt.Sprintf("name: %q has nothing a DNS name can use (a-z, 0-9, '-')", name))
	}
	if p.DNSName == label {
		return p, nil
	}
	if err := m.NB.SetPortKeys(ctx, p, ovn.PortChange{IDs: map[string]string{keys.DNSName: label}}); err != nil {
		return ovn.Port{}, err
	}
	p.DNSName = label
	return p, nil
}
