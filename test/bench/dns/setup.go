package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/miekg/dns"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// bench is the world and what to undo.
type bench struct {
	*harness.BenchWorld
	client   string // the client's namespace (dnsperf runs there)
	resolver string // QuantumNet's resolver address on the network
	dmqNS    string // dnsmasq's namespace
	dmqIP    string // dnsmasq's address on the network
	ports    []port
	portNS   []string
	servers  []*dnsmasq
}

// port is one named port: p<i>.dnsb.test at IP.
type port struct {
	Name string
	IP   netip.Addr
}

// up brings the sandbox, the daemon, the network, the ports, the client,
// dnsmasq and the upstream up, and waits until both contenders answer
// the last port's name.
func (b *bench) up(ctx context.Context) error {
	if err := b.Up(*flagBin, []string{"ovn-controller", "ovn-nbctl", "dnsperf", "dnsmasq"}); err != nil {
		return err
	}
	if err := b.Qn("network", "create", network, "--subnet4", subnet4, "--dns-domain", domain, "--dns-upstream", upAddr); err != nil {
		return err
	}
	// Undone last: after every CNI DEL.
	b.Undo = append(b.Undo, func() { b.D.Qnetctl("network", "delete", network) })
	var err error
	if b.resolver, err = b.resolverAddr(); err != nil {
		return err
	}
	if b.client, _, err = b.Container("cli", network, "", nil); err != nil {
		return err
	}
	if b.dmqNS, b.dmqIP, err = b.Container("dmq", network, "", nil); err != nil {
		return err
	}
	t0 := time.Now()
	if err := b.addPorts(ctx); err != nil {
		return err
	}
	logf("%d named ports in %s", len(b.ports), time.Since(t0).Round(time.Millisecond))
	if err := b.startServers(); err != nil {
		return err
	}
	last := b.ports[len(b.ports)-1]
	for _, s := range []string{b.resolver, b.dmqIP} {
		var got string
		if !ovsdbtest.Until(ctx, 30*time.Second, func() bool {
			got, err = b.lookup(s, last.Name+"."+domain+".", dns.TypeA)
			return err == nil && got == last.IP.String()
		}) {
			return fmt.Errorf("%s does not answer %s.%s with %s within 30 s: got %q, %v", s, last.Name, domain, last.IP, got, err)
		}
	}
	return nil
}

// resolverAddr is the network's resolver address (IPv4), as network show
// reports it.
func (b *bench) resolverAddr() (string, error) {
	out, err := b.D.Qnetctl("-o", "json", "network", "show", network)
	if err != nil {
		return "", fmt.Errorf("network show: %v %s", err, out)
	}
	var n struct {
		Resolvers []string `json:"resolvers"`
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		return "", fmt.Errorf("network show: %v", err)
	}
	for _, r := range n.Resolvers {
		if a, err := netip.ParseAddr(r); err == nil && a.Is4() {
			return r, nil
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 resolver (%v)", network, n.Resolvers)
}

// addPorts attaches -ports containers named p<i> (CNI_ARGS NAME=p<i>),
// -parallel at a time, each in a namespace of its own; all are deleted at
// the end.
func (b *bench) addPorts(ctx context.Context) error {
	n := *flagPorts
	list, err := libcni.ConfListFromBytes([]byte(harness.ConfList(network, network, b.D.ClientSocket, "")))
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{b.H.Bin}, filepath.Join(b.H.Tmp, "cni-cache-ports"), nil)
	b.ports = make([]port, n)
	b.portNS = make([]string, n)
	rts := make([]*libcni.RuntimeConf, n)
	b.Undo = append(b.Undo, func() {
		logf("deleting the %d ports", n)
		forEach(n, *flagParallel, func(i int) error {
			if rts[i] != nil {
				if err := cni.DelNetworkList(context.Background(), list, rts[i]); err != nil {
					logf("CNI DEL p%d: %v", i, err)
				}
			}
			if b.portNS[i] != "" {
				_ = exec.Command("ip", "netns", "del", b.portNS[i]).Run()
			}
			return nil
		})
	})
	logf("attaching %d named ports, %d at a time", n, *flagParallel)
	return forEach(n, *flagParallel, func(i int) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name, ns := fmt.Sprintf("p%d", i), b.NS(fmt.Sprintf("p%d", i))
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns add %s: %v %s", ns, err, out)
		}
		b.portNS[i] = ns
		rt := harness.RT(name, harness.NsPath(ns), "eth0")
		rt.Args = [][2]string{{"NAME", name}}
		rts[i] = rt
		r, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return fmt.Errorf("CNI ADD %s: %w", name, err)
		}
		res, err := current.NewResultFromResult(r)
		if err != nil || len(res.IPs) == 0 {
			return fmt.Errorf("CNI ADD %s: no address in the result (%v)", name, err)
		}
		a, _ := netip.AddrFromSlice(res.IPs[0].Address.IP.To4())
		b.ports[i] = port{Name: name, IP: a}
		return nil
	})
}

// forEach runs f(0..n-1), conc at a time, and returns the first error.
func forEach(n, conc int, f func(i int) error) error {
	sem := make(chan struct{}, max(conc, 1))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// cleanup stops the servers and undoes everything, the last made first.
func (b *bench) cleanup() error {
	for _, s := range b.servers {
		s.stop()
	}
	return b.Close(append([]string{b.client, b.dmqNS}, b.portNS...)...)
}
