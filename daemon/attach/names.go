package attach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// PortName is the deterministic LSP name of an attachment made on chassis.
// The chassis is part of it: the same container ID on two hosts (a
// restored snapshot, a copied runtime state) makes two ports, not one
// that each host's ADD tears down. chassis "" gives the legacy name, the
// hash of container ID and ifname only, which earlier releases used.
func PortName(chassis, containerID, ifname string) string {
	return "qn-c-" + attachHash(chassis, containerID, ifname)[:24]
}

// HostIfname is the host-side veth name of an attachment (15 characters
// at most); chassis "" gives the legacy name, as for PortName.
func HostIfname(chassis, containerID, ifname string) string {
	return "qnc" + attachHash(chassis, containerID, ifname)[:12]
}

func attachHash(chassis, containerID, ifname string) string {
	s := containerID + "/" + ifname
	if chassis != "" {
		s = "chassis=" + chassis + "\n" + s
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// key is the lock key of an attachment (ADD, DEL, CHECK and reconcile of
// one attachment are serialized on it).
func key(containerID, ifname string) string { return containerID + "/" + ifname }

// lock takes the lock of r's attachment.
func (m *Manager) lock(containerID, ifname string) (unlock func()) {
	return m.locks.Lock(key(containerID, ifname))
}

// names are the logical port and host interface names of r's attachment on
// this chassis: the chassis-qualified names, unless the attachment was made
// under the legacy names by this chassis (its logical port says so, or its
// OVS port is on this host). Another chassis' legacy port is never ours.
func (m *Manager) names(r Request) (name, host string) {
	name, host = PortName(m.Chassis, r.ContainerID, r.Ifname), HostIfname(m.Chassis, r.ContainerID, r.Ifname)
	if _, err := m.NB.LookupPort(name); err == nil {
		return name, host
	}
	lname, lhost := PortName("", r.ContainerID, r.Ifname), HostIfname("", r.ContainerID, r.Ifname)
	if p, err := m.NB.LookupPort(lname); err == nil {
		if m.foreign(p) == "" {
			return lname, hostOf(p, lhost)
		}
		return name, host
	}
	if m.OVS != nil {
		if op, err := m.OVS.GetPort(lhost); err == nil && op.ExternalIDs[keys.Port] == lname {
			return lname, lhost
		}
	}
	return name, host
}

// hostOf is the host interface the port records, else def.
func hostOf(p ovn.Port, def string) string {
	if p.HostIfname != "" {
		return p.HostIfname
	}
	return def
}

// foreign says which other chassis the port belongs to ("" when it is this
// chassis'): the chassis that created it, its requested-chassis, or the
// chassis Southbound binds it to. A CNI call never deletes such a port.
func (m *Manager) foreign(p ovn.Port) string {
	if p.Chassis != "" && p.Chassis != m.Chassis {
		return p.Chassis
	}
	if rc := p.RequestedChassis; rc != "" && !slices.Contains(strings.Split(rc, ","), m.Chassis) {
		return rc
	}
	if m.SB != nil {
		if b := m.SB.BoundChassis(p.Name); b != "" && b != m.Chassis {
			return b
		}
	}
	return ""
}

// errForeign refuses to touch a port of another chassis.
func errForeign(p ovn.Port, other string) error {
	return fmt.Errorf("%w: logical port %s (container %s/%s) belongs to chassis %s: "+
		"a CNI call on this host does not delete it (same container ID on two hosts?)",
		errs.Conflict, p.Name, p.ContainerID, p.Ifname, other)
}

// waitReconciled waits until the start-up reconcile ran: DEL, CHECK and GC
// before it could be undone by it (a DEL's OVS port re-added).
func (m *Manager) waitReconciled(ctx context.Context) error {
	for !m.Reconciled.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: reconciling state after start", ErrUnavailable)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
