package netsvc

import (
	"context"
	"fmt"
	"maps"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// SetDNSName names a workload's port <label>.<its network's domain>, the
// label made from name by Label (an empty name takes the port's name
// away), and returns the port's row. The runner writes the DNS records.
func (m *Manager) SetDNSName(ctx context.Context, port, name string) (*nbdb.LogicalSwitchPort, error) {
	lsp, err := m.NB.GetPort(port)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", port, err)
	}
	if portNetwork(lsp) == "" {
		return nil, fmt.Errorf("logical port %s: %w", port, ovn.ErrNotManaged)
	}
	label := Label(name)
	if name != "" && label == "" {
		return nil, errs.New(errs.Invalid, fmt.Sprintf("name: %q has nothing a DNS name can use (a-z, 0-9, '-')", name))
	}
	if portDNSName(lsp) == label {
		return lsp, nil
	}
	ids := maps.Clone(lsp.ExternalIDs)
	if label == "" {
		delete(ids, keys.DNSName)
	} else {
		ids[keys.DNSName] = label
	}
	lsp.ExternalIDs = ids
	if err := m.NB.UpdatePort(ctx, lsp, &lsp.ExternalIDs); err != nil {
		return nil, err
	}
	return lsp, nil
}
