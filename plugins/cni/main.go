// Command quantumnet is QuantumNet's CNI plugin (spec 1.1.0). It parses its
// input, makes one call to quantumnetd and prints the result: nothing else.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// NetConf is the plugin's configuration.
type NetConf struct {
	types.PluginConf
	// Network is the QuantumNet network to attach to (required).
	Network string `json:"network"`
	// Socket overrides the daemon socket path.
	Socket string `json:"socket,omitempty"`
	// DefaultRoute says whether this network's interface gets the
	// container's default route; unset: only if the container has none
	// yet (the first network of a multi-network container).
	DefaultRoute *bool `json:"defaultRoute,omitempty"`
	// PendingDelDir is where a DEL the daemon cannot take now is recorded
	// (api.DefaultPendingDelDir).
	PendingDelDir string `json:"pendingDelDir,omitempty"`
	// Timeout bounds one call to the daemon, e.g. "60s".
	Timeout string `json:"timeout,omitempty"`
	// SecurityGroups are the security groups of every attachment made with
	// this config (unless the container's args name others).
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// LoadBalancers are load balancers every attachment made with this
	// config joins as a member (unless the container's args name others).
	LoadBalancers []string `json:"loadBalancers,omitempty"`
	// RuntimeConfig carries the "ips" and "mac" capabilities.
	RuntimeConfig struct {
		IPs          []string      `json:"ips,omitempty"`
		Mac          string        `json:"mac,omitempty"`
		PortMappings []portMapping `json:"portMappings,omitempty"`
	} `json:"runtimeConfig,omitempty"`
	// Args carries "ips"/"mac"/"securityGroups"/"loadBalancers" the CNI-args way.
	Args struct {
		CNI struct {
			IPs            []string `json:"ips,omitempty"`
			Mac            string   `json:"mac,omitempty"`
			SecurityGroups []string `json:"securityGroups,omitempty"`
			LoadBalancers  []string `json:"loadBalancers,omitempty"`
			Name           string   `json:"name,omitempty"` // the port's DNS name
		} `json:"cni,omitempty"`
	} `json:"args,omitempty"`
	LegacyAttachments []types.GCAttachment `json:"cni.dev/attachments,omitempty"`
}

// portMapping is one entry of the "portMappings" capability; the daemon
// validates it.
type portMapping struct {
	HostPort      int64  `json:"hostPort"`
	ContainerPort int64  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// port is a port number for the daemon to judge: negative or huge ones
// become a value it refuses as out of range, not one that wraps into it.
func port(v int64) uint32 {
	if v < 0 || v > 1<<20 {
		return 1 << 20
	}
	return uint32(v)
}

func parse(stdin []byte, needNetwork bool) (*NetConf, error) {
	c := &NetConf{}
	if err := json.Unmarshal(stdin, c); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "config: malformed JSON", err.Error())
	}
	if c.CNIVersion == "" {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "cniVersion: required", "")
	}
	if needNetwork && c.Network == "" {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, `network: required (the QuantumNet network to attach to, e.g. "network": "blue")`, "")
	}
	if c.Timeout != "" {
		if _, err := time.ParseDuration(c.Timeout); err != nil {
			return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("timeout: %q is not a duration like \"60s\"", c.Timeout), "")
		}
	}
	return c, nil
}

func (c *NetConf) ctx() (context.Context, context.CancelFunc) {
	d := 60 * time.Second
	if c.Timeout != "" {
		d, _ = time.ParseDuration(c.Timeout)
	}
	return context.WithTimeout(context.Background(), d)
}

// cniArgs are the CNI_ARGS keys the plugin reads ("IP=..;MAC=..;
// SECURITY_GROUPS=a,b;LOAD_BALANCERS=web,api;NAME=.."). Unknown keys are ignored, as the runtimes
// expect, unless CNI_ARGS itself says IgnoreUnknown=false.
type cniArgs struct {
	types.CommonArgs
	IP              list                       // more addresses, after the config's
	MAC             types.UnmarshallableString // unless the config names one
	SECURITY_GROUPS list                       // replace the config's groups
	LOAD_BALANCERS  list                       // replace the config's load balancers
	NAME            types.UnmarshallableString // the port's DNS name, unless args.cni.name
	K8S_POD_NAME    types.UnmarshallableString // the DNS name when nothing else names one
}

// list is a comma-separated CNI_ARGS value; nil when the key is absent.
type list []string

func (l *list) UnmarshalText(b []byte) error {
	*l = strings.Split(string(b), ",")
	return nil
}

// request is the daemon request for a, from the config c and CNI_ARGS; a
// malformed CNI_ARGS is a CNI error (invalid environment variables).
func request(a *skel.CmdArgs, c *NetConf) (*api.CNIRequest, error) {
	args := cniArgs{CommonArgs: types.CommonArgs{IgnoreUnknown: true}}
	if err := types.LoadArgs(a.Args, &args); err != nil {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables, "CNI_"+err.Error(), "")
	}
	return build(a, c, &args), nil
}

func build(a *skel.CmdArgs, c *NetConf, args *cniArgs) *api.CNIRequest {
	r := &api.CNIRequest{ContainerId: a.ContainerID, Ifname: a.IfName, Netns: a.Netns, Network: c.Network, CniNetworkName: c.Name}
	r.Ips = append(append(append(r.Ips, c.RuntimeConfig.IPs...), c.Args.CNI.IPs...), args.IP...)
	r.Mac = c.RuntimeConfig.Mac
	r.DefaultRoute = c.DefaultRoute
	for _, m := range c.RuntimeConfig.PortMappings {
		r.PortMappings = append(r.PortMappings, &api.PortMapping{HostPort: port(m.HostPort), ContainerPort: port(m.ContainerPort), Protocol: m.Protocol, HostIp: m.HostIP})
	}
	if r.Mac == "" {
		r.Mac = c.Args.CNI.Mac
	}
	if r.Mac == "" {
		r.Mac = string(args.MAC)
	}
	// Security groups: the container's (CNI_ARGS, then args) replace the config's.
	r.SecurityGroups = c.SecurityGroups
	if len(c.Args.CNI.SecurityGroups) > 0 {
		r.SecurityGroups = c.Args.CNI.SecurityGroups
	}
	if args.SECURITY_GROUPS != nil {
		r.SecurityGroups = args.SECURITY_GROUPS
	}
	// Load balancers: the container's (CNI_ARGS, then args) replace the config's.
	r.LoadBalancers = c.LoadBalancers
	if len(c.Args.CNI.LoadBalancers) > 0 {
		r.LoadBalancers = c.Args.CNI.LoadBalancers
	}
	if args.LOAD_BALANCERS != nil {
		r.LoadBalancers = args.LOAD_BALANCERS
	}
	// The DNS name: args.cni.name, else CNI_ARGS NAME or K8S_POD_NAME.
	r.Name = c.Args.CNI.Name
	if r.Name == "" {
		r.Name = string(args.NAME)
	}
	if r.Name == "" {
		r.Name = string(args.K8S_POD_NAME)
	}
	return r
}

func call[T any](c *NetConf, f func(context.Context, *rpcclient.Client) (T, error)) (T, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	var zero T
	cl, err := rpcclient.Dial(ctx, c.Socket, "cni")
	if err != nil {
		return zero, err
	}
	defer cl.Close()
	return f(ctx, cl)
}

func cmdAdd(a *skel.CmdArgs) error {
	c, err := parse(a.StdinData, true)
	if err != nil {
		return err
	}
	req, err := request(a, c)
	if err != nil {
		return err
	}
	res, err := call(c, func(ctx context.Context, cl *rpcclient.Client) (*api.CNIResult, error) {
		return cl.CNIAdd(ctx, req)
	})
	if err != nil {
		return cniErr(err)
	}
	out, err := toResult(res)
	if err != nil {
		return types.NewError(types.ErrInternal, "daemon returned a malformed result", err.Error())
	}
	only10(out, c.CNIVersion)
	return types.PrintResult(out, c.CNIVersion)
}

// only10 clears the members of a result that came with CNI 1.1.0 (an
// interface's MTU, socket path and PCI id; a route's MTU, advmss, priority,
// table and scope) for a 1.0.0 config: the library prints 1.0.0 results
// with the 1.1.0 type, and a runtime of 1.0.0 must not get them.
func only10(r *current.Result, v string) {
	if v != "1.0.0" {
		return
	}
	for _, i := range r.Interfaces {
		i.Mtu, i.SocketPath, i.PciID = 0, "", ""
	}
	for _, rt := range r.Routes {
		rt.MTU, rt.AdvMSS, rt.Priority, rt.Table, rt.Scope = 0, 0, 0, nil, nil
	}
}

func toResult(r *api.CNIResult) (*current.Result, error) {
	out := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	for _, i := range r.Interfaces {
		out.Interfaces = append(out.Interfaces, &current.Interface{Name: i.Name, Mac: i.Mac, Sandbox: i.Sandbox, Mtu: int(i.Mtu)})
	}
	for _, ip := range r.Ips {
		addr, err := types.ParseCIDR(ip.Address)
		if err != nil {
			return nil, err
		}
		idx := int(ip.Interface)
		out.IPs = append(out.IPs, &current.IPConfig{Address: *addr, Gateway: net.ParseIP(ip.Gateway), Interface: &idx})
	}
	for _, rt := range r.Routes {
		_, dst, err := net.ParseCIDR(rt.Dst)
		if err != nil {
			return nil, err
		}
		out.Routes = append(out.Routes, &types.Route{Dst: *dst, GW: net.ParseIP(rt.Gw)})
	}
	out.DNS = types.DNS{Nameservers: r.DnsNameservers, Domain: r.DnsDomain, Search: r.DnsSearch}
	return out, nil
}

func cmdDel(a *skel.CmdArgs) error {
	c, err := parse(a.StdinData, false)
	if err != nil {
		return err
	}
	req, err := request(a, c)
	if err != nil {
		// DEL must not fail over CNI_ARGS: the attachment is known by its
		// container ID and interface name.
		req = build(a, c, &cniArgs{})
	}
	// Record the DEL first: if the daemon is down, stuck or not ready (or
	// the runtime kills this process on its own timeout), the record stays
	// for the daemon to finish when it is back (at start and periodically),
	// so the port, its address and its OVS port do not leak.
	dir := api.PendingDelDir(c.PendingDelDir)
	rec := api.PendingDel{ContainerID: a.ContainerID, Ifname: a.IfName, Network: c.Network, CNINetwork: c.Name, Since: time.Now().UTC()}
	recErr := api.WritePendingDel(dir, rec)
	_, err = call(c, func(ctx context.Context, cl *rpcclient.Client) (*api.Empty, error) {
		return cl.CNIDel(ctx, req)
	})
	if err != nil && deferrable(err) {
		if recErr != nil {
			return types.NewError(types.ErrTryAgainLater, "quantumnetd: "+rpcclient.Message(err)+"; and the DEL could not be recorded: "+recErr.Error(), "")
		}
		return nil // the daemon finishes it
	}
	if recErr == nil {
		_ = api.RemovePendingDel(dir, a.ContainerID, a.IfName)
	}
	return cniErr(err)
}

// deferrable: a DEL that failed with err can be finished later by the
// daemon: it was not reached, timed out, or is not ready.
func deferrable(err error) bool {
	k := rpcclient.Kind(err)
	return rpcclient.Unreachable(err) || errors.Is(k, errs.Unavailable) || errors.Is(k, errs.Timeout) ||
		errors.Is(err, context.DeadlineExceeded)
}

func cmdCheck(a *skel.CmdArgs) error {
	c, err := parse(a.StdinData, true)
	if err != nil {
		return err
	}
	req, err := request(a, c)
	if err != nil {
		return err
	}
	if c.RawPrevResult != nil {
		if req.Ips, err = prevIPs(c); err != nil {
			return err
		}
	}
	_, err = call(c, func(ctx context.Context, cl *rpcclient.Client) (*api.Empty, error) {
		return cl.CNICheck(ctx, req)
	})
	return cniErr(err)
}

// prevIPs are the addresses of c's prevResult (CHECK asks the daemon
// about exactly those).
func prevIPs(c *NetConf) ([]string, error) {
	if err := version.ParsePrevResult(&c.PluginConf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "prevResult: cannot parse", err.Error())
	}
	prev, err := current.NewResultFromResult(c.PrevResult)
	if err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "prevResult: cannot convert", err.Error())
	}
	var ips []string
	for _, ip := range prev.IPs {
		ips = append(ips, ip.Address.String())
	}
	return ips, nil
}

func cmdGC(a *skel.CmdArgs) error {
	c, err := parse(a.StdinData, false)
	if err != nil {
		return err
	}
	if c.Name == "" {
		return types.NewError(types.ErrInvalidNetworkConfig, "name: required for GC", "")
	}
	req := &api.CNIGCRequest{CniNetworkName: c.Name, Network: c.Network}
	valid := c.ValidAttachments
	if len(valid) == 0 {
		valid = c.LegacyAttachments
	}
	for _, v := range valid {
		req.Valid = append(req.Valid, &api.CNIAttachment{ContainerId: v.ContainerID, Ifname: v.IfName})
	}
	_, err = call(c, func(ctx context.Context, cl *rpcclient.Client) (*api.CNIGCReply, error) {
		return cl.CNIGC(ctx, req)
	})
	return cniErr(err)
}

func cmdStatus(a *skel.CmdArgs) error {
	c, err := parse(a.StdinData, false)
	if err != nil {
		return err
	}
	st, err := call(c, func(ctx context.Context, cl *rpcclient.Client) (*api.StatusReply, error) {
		return cl.Status(ctx, &api.StatusRequest{})
	})
	if err != nil {
		return cniErr(err)
	}
	if !st.Ready {
		return types.NewError(types.ErrPluginNotAvailable, "quantumnetd cannot serve ADD: "+strings.Join(st.Problems, "; "), "")
	}
	return nil
}

// cniErr maps err to a CNI error; nil stays a nil interface.
func cniErr(err error) error {
	if err == nil {
		return nil
	}
	return rpcclient.CNIError(err)
}

// Version is set by the build.
var Version = "dev"

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck, GC: cmdGC, Status: cmdStatus},
		version.All, "QuantumNet CNI plugin "+Version)
}
