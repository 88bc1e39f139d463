// Command quantumnet-qemu-hook is QuantumNet's libvirt qemu hook, installed
// as /etc/libvirt/hooks/qemu.d/quantumnet. libvirtd runs it as
// `quantumnet-qemu-hook DOMAIN OPERATION SUBOPERATION EXTRA` with the domain
// XML on stdin. It reads the QuantumNet NICs out of the XML and makes one
// call to quantumnetd; it never calls libvirt (that would deadlock).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/pkg/vmxml"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: quantumnet-qemu-hook DOMAIN OPERATION [SUBOPERATION EXTRA] < domain.xml")
		return 2
	}
	op := args[1]
	xml, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "quantumnet: reading the domain XML: %v\n", err)
		return failure(op, err)
	}
	switch op {
	case "restore":
		// The XML goes back unchanged: stdout is what libvirt uses.
		_, _ = stdout.Write(xml)
		return 0
	case "migrate", "prepare", "start", "started", "stopped", "release", "reconnect":
	default:
		return 0
	}
	set, err := loadSettings()
	if err != nil {
		fmt.Fprintf(stderr, "quantumnet: %v\n", err)
		return failure(op, err)
	}
	dom, err := vmxml.Parse(xml, set.Bridge)
	if err != nil {
		fmt.Fprintf(stderr, "quantumnet: %v\n", err)
		return failure(op, err)
	}
	if len(dom.NICs) == 0 {
		if op == "migrate" {
			_, _ = stdout.Write(xml)
		}
		return 0 // not a QuantumNet domain
	}
	req := request(dom, op)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := rpcclient.Dial(ctx, set.Socket, "qemu-hook")
	if err != nil {
		fmt.Fprintf(stderr, "quantumnet: domain %s: %s\n", dom.Name, rpcclient.Message(err))
		return failure(op, err)
	}
	defer c.Close()
	switch op {
	case "prepare", "start":
		_, err = c.VMPrepare(ctx, req)
	case "started":
		_, err = c.VMStarted(ctx, req)
	case "stopped", "release":
		_, err = c.VMStopped(ctx, req)
	case "reconnect":
		_, err = c.VMReconnect(ctx, req)
	case "migrate":
		// On the destination, before anything else of the incoming domain:
		// bind its ports on both chassis. The XML goes back unchanged.
		if _, err = c.VMMigrateIn(ctx, req); err == nil {
			_, _ = stdout.Write(xml)
		}
	}
	if err != nil {
		msg := rpcclient.Message(err)
		if !strings.Contains(msg, dom.Name) {
			msg = "domain " + dom.Name + ": " + msg
		}
		fmt.Fprintf(stderr, "quantumnet: %s\n", msg)
		return failure(op, err)
	}
	return 0
}

// failure is the exit code of an operation that failed with err: only
// prepare, start and migrate (which refuses the incoming migration) may stop
// a domain, with the code pkg/rpcclient maps err to; a failing reconnect
// would kill a running VM, and stopped/release/started must not get in
// libvirt's way.
func failure(op string, err error) int {
	switch op {
	case "prepare", "start", "migrate":
		return rpcclient.HookExit(err)
	}
	return 0
}

// request is the daemon request of a hook event for dom.
func request(dom *vmxml.Domain, op string) *api.VMRequest {
	req := &api.VMRequest{Domain: dom.Name, Uuid: dom.UUID, Event: op}
	for _, n := range dom.NICs {
		nic := &api.VMNIC{InterfaceId: n.InterfaceID, Mac: n.MAC, Network: n.Network, SecurityGroups: n.SecurityGroups,
			LoadBalancers: n.LoadBalancers, ChecksumOffload: n.ChecksumOffload}
		for _, ip := range n.IPs {
			nic.Ips = append(nic.Ips, ip.String())
		}
		req.Nics = append(req.Nics, nic)
	}
	return req
}
