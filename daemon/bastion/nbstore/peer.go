package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Peers: a peer is one key of its bastion's record; its tunnel address is
// in the bastion's Address_Set. Both change in one transaction.

// grantable says why a network cannot be granted from the router ("" if
// it can).
func (m *Manager) grantable(routerName string) func(string) string {
	return func(n string) string {
		if network.ValidateName(n) != nil {
			return "not a network name"
		}
		ls, err := m.NB.GetSwitch(n)
		if err != nil {
			return "no such network"
		}
		if r := network.RouterOf(ls); r != routerName {
			return "not attached to router " + routerName
		}
		return ""
	}
}

// Subnets are the subnets of the networks (the ones that exist).
func (m *Manager) Subnets(networks []string) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range networks {
		ls, err := m.NB.GetSwitch(n)
		if err != nil {
			continue
		}
		spec, err := network.FromSwitch(ls)
		if err != nil {
			continue
		}
		for _, p := range []netip.Prefix{spec.Subnet4, spec.Subnet6} {
			if p.IsValid() {
				out = append(out, p)
			}
		}
	}
	return out
}

// AddPeer adds peer name to bastion b with a grant of networks. Without a
// public key a key pair is generated, and config is the peer's wg-quick
// file with its private key (returned once, never stored). Adding a peer
// that exists with the same key and grant returns it (no config).
func (m *Manager) AddPeer(ctx context.Context, bName, name string, networks []string, pubKey string) (p bastion.Peer, config string, err error) {
	if err := bastion.ValidateName(bName); err != nil {
		return p, "", err
	}
	if err := bastion.ValidatePeerName(name); err != nil {
		return p, "", err
	}
	var priv bastion.Key
	if pubKey != "" {
		if p.PublicKey, err = bastion.ParseKey("public_key", pubKey); err != nil {
			return p, "", err
		}
	}
	defer m.locks.Lock("bastion:" + bName)()
	ls, b, err := m.read(bName)
	if err != nil {
		return p, "", err
	}
	grant, err := bastion.ValidateGrant(networks, m.grantable(b.Router))
	if err != nil {
		return p, "", err
	}
	if cur, ok := b.Peer(name); ok {
		if pubKey != "" && cur.PublicKey == p.PublicKey && slices.Equal(cur.Networks, grant) {
			return cur, "", nil
		}
		return p, "", errs.New(errs.Conflict, fmt.Sprintf("peer %s of bastion %s already exists (remove it first to change its key or grant)", name, bName))
	}
	for _, o := range b.Peers {
		if pubKey != "" && o.PublicKey == p.PublicKey {
			return p, "", errs.New(errs.Conflict, fmt.Sprintf("public_key: peer %s of bastion %s has this key already", o.Name, bName))
		}
	}
	if pubKey == "" {
		if priv, err = bastion.GenerateKey(); err != nil {
			return p, "", err
		}
		p.PublicKey = priv.Public()
	}
	p.Name, p.Networks = name, grant
	if p.Address, err = bastion.AllocateAddress(b); err != nil {
		return p, "", err
	}
	b.Peers = append(b.Peers, p)
	if err := m.write(ctx, ls, b, "add peer "+name+" to bastion "+bName); err != nil {
		return bastion.Peer{}, "", err
	}
	m.Log.Info("bastion peer added", "bastion", bName, "peer", name, "address", p.Address, "networks", grant)
	if pubKey == "" {
		config = bastion.Render(bastion.PeerConfig{Peer: name, Bastion: bName, PrivateKey: priv, Address: p.Address,
			ServerKey: b.PrivateKey.Public(), Endpoint: b.Endpoint, AllowedIPs: m.Subnets(grant)})
	}
	return p, config, nil
}

// RemovePeer removes peer name from bastion bName (errs.NotFound if it
// has no such peer).
func (m *Manager) RemovePeer(ctx context.Context, bName, name string) (bastion.Bastion, error) {
	if err := bastion.ValidatePeerName(name); err != nil {
		return bastion.Bastion{}, err
	}
	if err := bastion.ValidateName(bName); err != nil {
		return bastion.Bastion{}, err
	}
	defer m.locks.Lock("bastion:" + bName)()
	ls, b, err := m.read(bName)
	if err != nil {
		return bastion.Bastion{}, err
	}
	i := slices.IndexFunc(b.Peers, func(p bastion.Peer) bool { return p.Name == name })
	if i < 0 {
		return bastion.Bastion{}, errs.New(errs.NotFound, fmt.Sprintf("bastion %s has no peer %s", bName, name))
	}
	b.Peers = slices.Delete(b.Peers, i, i+1)
	if err := m.write(ctx, ls, b, "remove peer "+name+" from bastion "+bName); err != nil {
		return bastion.Bastion{}, err
	}
	m.Log.Info("bastion peer removed", "bastion", bName, "peer", name)
	return b, nil
}

// write stores b's record on its switch ls (as read) and its peers'
// addresses in its address set.
func (m *Manager) write(ctx context.Context, ls *nbdb.LogicalSwitch, b bastion.Bastion, what string) error {
	ids := maps.Clone(ls.ExternalIDs)
	maps.DeleteFunc(ids, func(k, _ string) bool {
		return len(k) > len(keys.BastionPeerPrefix) && k[:len(keys.BastionPeerPrefix)] == keys.BastionPeerPrefix
	})
	maps.Copy(ids, bastion.Encode(b))
	var asUUID string
	if as := m.NB.BastionAddressSet(b.Name); as != nil {
		asUUID = as.UUID
	}
	addrs := make([]string, 0, len(b.Peers))
	for _, p := range b.Peers {
		addrs = append(addrs, p.Address.String())
	}
	ops, err := m.NB.SetBastionOps(ls, ids, asUUID, addrs)
	if err != nil {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, what, ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return errs.New(errs.Conflict, fmt.Sprintf("bastion %s changed concurrently: %v (retry)", b.Name, err))
		}
		return err
	}
	return nil
}
