package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// gcResult is one CNI GC over every attachment.
type gcResult struct {
	Attachments int     `json:"attachments"`
	Invalid     int     `json:"invalid"`
	Removed     int     `json:"removed"` // gone from Northbound
	WrongGone   int     `json:"valid_removed"`
	WrongKept   int     `json:"invalid_kept"`
	Ms          float64 `json:"ms"`
}

// local is the container ids of this chassis' attachments in Northbound,
// and of the OVS ports on br-int.
func (b *bench) local() (nb, ovs map[string]bool, err error) {
	ps, err := b.nb.Ports(map[string]string{keys.Network: network, keys.Chassis: b.Sbx.Chassis})
	if err != nil {
		return nil, nil, err
	}
	nb = map[string]bool{}
	for _, p := range ps {
		nb[p.ContainerID] = true
	}
	ops, err := b.ovsc.ListPorts(nil)
	if err != nil {
		return nil, nil, err
	}
	ovs = map[string]bool{}
	for _, p := range ops {
		if id := p.ExternalIDs[keys.ContainerID]; id != "" {
			ovs[id] = true
		}
	}
	return nb, ovs, nil
}

// checkScale verifies that the attachments really exist: each one's
// logical port (with this chassis), its OVS port, and distinct addresses.
func (b *bench) checkScale() error {
	nb, ovs, err := b.local()
	if err != nil {
		return err
	}
	seen := map[netip.Addr]string{}
	var errs []error
	for _, a := range b.atts {
		if !nb[a.id] || !ovs[a.id] {
			errs = append(errs, fmt.Errorf("%s: logical port %v, OVS port %v", a.id, nb[a.id], ovs[a.id]))
		}
		if o, dup := seen[a.ip]; dup || !a.ip.IsValid() {
			errs = append(errs, fmt.Errorf("%s: address %v (also %s)", a.id, a.ip, o))
		}
		seen[a.ip] = a.id
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d attachments are not whole: %w", len(errs), len(b.atts), errors.Join(errs[:min(len(errs), 5)]...))
	}
	logf("checked: %d attachments, each with its logical port, OVS port and its own address", len(b.atts))
	return nil
}

// gc runs CNI GC with every -gc-every th attachment missing from the valid
// list, and checks exactly those went. GC goes through a libcni of its
// own cache (empty: libcni would DEL the cached invalid attachments one by
// one first), so the time is the plugin's GC, the daemon's work.
func (b *bench) gc(ctx context.Context) (*gcResult, error) {
	r := &gcResult{Attachments: len(b.atts)}
	var valid []types.GCAttachment
	invalid := map[string]bool{}
	for i, a := range b.atts {
		if i%*flagGCEvery == *flagGCEvery-1 {
			invalid[a.id] = true
			continue
		}
		valid = append(valid, types.GCAttachment{ContainerID: a.id, IfName: "eth0"})
	}
	r.Invalid = len(invalid)
	logf("CNI GC of %d attachments, %d not in the valid list", r.Attachments, r.Invalid)
	cni := libcni.NewCNIConfigWithCacheDir([]string{b.H.Bin}, filepath.Join(b.H.Tmp, "cni-cache-gc"), nil)
	stopPerf := b.perf("gc", b.D.Pid())
	t0 := time.Now()
	err := cni.GCNetworkList(ctx, b.list, &libcni.GCArgs{ValidAttachments: valid})
	r.Ms = ms(time.Since(t0))
	stopPerf()
	if err != nil {
		return r, fmt.Errorf("GC: %w", err)
	}
	nb, ovs, err := b.local()
	if err != nil {
		return r, err
	}
	var wrong []string
	for _, a := range b.atts {
		gone := !nb[a.id]
		if gone {
			r.Removed++
		}
		switch {
		case gone && !invalid[a.id]:
			r.WrongGone++
			wrong = append(wrong, a.id+" (valid) removed")
		case !gone && invalid[a.id]:
			r.WrongKept++
			wrong = append(wrong, a.id+" (invalid) kept")
		case ovs[a.id] == gone:
			wrong = append(wrong, fmt.Sprintf("%s: logical port gone %v, OVS port there %v", a.id, gone, ovs[a.id]))
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		return r, fmt.Errorf("GC: %d wrong: %v", len(wrong), wrong[:min(len(wrong), 5)])
	}
	b.atts = slices.DeleteFunc(b.atts, func(a *attachment) bool { return invalid[a.id] })
	return r, nil
}
