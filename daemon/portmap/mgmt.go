package portmap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// MgmtPortName is the logical port of chassis' management port on network.
func MgmtPortName(chassis, network string) string {
	h := sha256.Sum256([]byte(chassis))
	return "qn-mgmt-" + hex.EncodeToString(h[:])[:8] + "-" + network
}

// MgmtIfname is the host interface (and OVS port) of chassis' management
// port on network (15 characters at most).
func MgmtIfname(chassis, network string) string {
	h := sha256.Sum256([]byte("quantumnet-mgmt:" + chassis + "/" + network))
	return MgmtIfPrefix + hex.EncodeToString(h[:])[:11]
}

// ensureMgmt makes the management port of network on this chassis: its
// logical port (kept if Northbound has it: its address survives a
// restart), its OVS internal port and its host interface, and waits for
// ovn-controller to install it.
func (m *Manager) ensureMgmt(ctx context.Context, network string, mtu int) (err error) {
	name, ifname := MgmtPortName(m.Chassis, network), MgmtIfname(m.Chassis, network)
	if mp := m.mgmt[network]; mp != nil && hostnet.LinkExists(ifname) {
		return nil
	}
	p, err := m.NB.LookupPort(name)
	created := false
	if errors.Is(err, errs.NotFound) {
		cl, err := m.Ports.Create(ctx, ovn.Port{
			Name: name, Network: network, Kind: keys.KindMgmt, Chassis: m.Chassis, RequestedChassis: m.Chassis,
		}, nbstore.Want{})
		if err != nil {
			return fmt.Errorf("management port %s: %w", name, err)
		}
		created = true
		p = ovn.Port{Name: name, Network: network, MAC: cl.MAC, IPs: cl.IPs()}
	} else if err != nil {
		return err
	} else if p.MAC == nil || len(p.IPs) == 0 || p.Network != network {
		return fmt.Errorf("management port %s in Northbound has no usable MAC and addresses on %s (%v): delete it to have it made again", name, network, p.Addresses())
	}
	defer func() {
		if err != nil {
			m.dropMgmt(context.WithoutCancel(ctx), name, ifname, created)
		}
	}()
	if _, err := m.OVS.GetPort(ifname); err != nil {
		ifaceIDs := map[string]string{ovs.KeyIfaceID: name, ovs.KeyAttachedMAC: p.MAC.String()}
		if err := m.OVS.AddInternalPort(ctx, m.Bridge, ifname, ifaceIDs, map[string]string{keys.Port: name, keys.Network: network}); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, m.ReadyTimeout)
	defer cancel()
	spec := hostnet.MgmtSpec{Name: ifname, MAC: p.MAC, MTU: mtu, Addrs: p.IPs, TxCsumOff: m.OVS.DatapathType(m.Bridge, m.Datapath) == "netdev"}
	if err := hostnet.SetupMgmtLink(wctx, spec); err != nil {
		return err
	}
	for _, a := range p.IPs {
		if err := hostnet.EnableForwarding(a.Is6()); err != nil {
			return fmt.Errorf("enable forwarding: %w", err)
		}
	}
	if err := m.OVS.WaitInstalled(wctx, ifname); err != nil {
		return err
	}
	m.mgmt[network] = &spec
	m.Log.Info("management port up", "network", network, "port", name, "ifname", ifname, "addresses", p.IPs)
	return nil
}

// removeMgmt removes the management port of network on this chassis.
func (m *Manager) removeMgmt(ctx context.Context, network string) error {
	delete(m.mgmt, network)
	name, ifname := MgmtPortName(m.Chassis, network), MgmtIfname(m.Chassis, network)
	return m.dropMgmt(ctx, name, ifname, true)
}

// dropMgmt removes a management port's OVS port (its interface goes with
// it) and, if withLSP, its logical port.
func (m *Manager) dropMgmt(ctx context.Context, name, ifname string, withLSP bool) error {
	err := m.OVS.DeletePort(ctx, m.Bridge, ifname)
	if withLSP {
		err = errors.Join(err, m.Ports.Delete(ctx, name))
	}
	if err == nil {
		m.Log.Info("management port removed", "port", name, "ifname", ifname)
	}
	return err
}

// pruneMgmt removes this chassis' management ports (logical and OVS ones)
// on networks not in keep.
func (m *Manager) pruneMgmt(ctx context.Context, keep map[string]bool) error {
	var fails []error
	lsps, err := m.NB.Ports(map[string]string{keys.Kind: keys.KindMgmt, keys.Chassis: m.Chassis})
	if err != nil {
		return err
	}
	for _, p := range lsps {
		if !keep[p.Network] {
			fails = append(fails, m.removeMgmt(ctx, p.Network))
		}
	}
	ports, err := m.OVS.ListPorts(nil)
	if err != nil {
		return errors.Join(append(fails, err)...)
	}
	for _, p := range ports {
		n := p.ExternalIDs[keys.Network]
		if n != "" && strings.HasPrefix(p.Name, MgmtIfPrefix) && !keep[n] {
			fails = append(fails, m.OVS.DeletePort(ctx, m.Bridge, p.Name))
		}
	}
	return errors.Join(fails...)
}
