package nbstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// namedByRules refuses (errs.InUse) while rules of security groups name
// the peers of bastion name (sg:bastion-NAME), as a security group named by
// another's rules cannot be deleted. Otherwise it returns the guard of the
// deletion: the security groups' generation as read, so that a rule naming
// the bastion added meanwhile aborts it.
func (m *Manager) namedByRules(name string) (ovsdb.Operation, error) {
	acls, err := m.NB.ACLs(keys.SG)
	if err != nil {
		return ovsdb.Operation{}, err
	}
	var users []string
	for _, a := range acls {
		spec := a.ExternalIDs[keys.RuleSpec]
		r, err := secgroup.ParseRule(spec)
		if err != nil {
			continue
		}
		if b, ok := secgroup.BastionOf(r.RemoteGroup); ok && b == name {
			users = append(users, fmt.Sprintf("%q of %s", spec, a.ExternalIDs[keys.SG]))
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return ovsdb.Operation{}, errs.New(errs.InUse, fmt.Sprintf("bastion %s: its peers are the remote (sg:%s) of security group rules %s: delete them first (qnetctl sg rule delete GROUP RULE)",
			name, bastion.SecurityGroup(name), strings.Join(users, ", ")))
	}
	all, err := m.NB.GetPortGroup(secgroup.AllPortGroup)
	if err != nil && !errors.Is(err, ovn.ErrNotFound) {
		return ovsdb.Operation{}, err
	}
	return ovn.WaitPortGroupAsSeenOp(secgroup.AllPortGroup, all), nil
}
