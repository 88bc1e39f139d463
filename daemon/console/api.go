package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/daemon/server"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// CallTimeout bounds one API call (as the gRPC server's deadline does).
var CallTimeout = time.Minute

// maxBody is the largest request body.
const maxBody = 1 << 20

// marshal is qnetctl -o json's: the proto's snake_case names, every field.
var marshal = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

// routes are the API's patterns and handlers (every write behind guard).
func (c *Console) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /console/api/state":                                c.state,
		"GET /console/api/events":                               c.events,
		"GET /console/api/presets":                              c.presets,
		"GET /console/api/security-groups":                      c.groups,
		"POST /console/api/security-groups":                     c.createGroup,
		"DELETE /console/api/security-groups/{name}":            c.deleteGroup,
		"POST /console/api/security-groups/{name}/rules":        c.addRules,
		"DELETE /console/api/security-groups/{name}/rules/{id}": c.deleteRule,
		"PUT /console/api/security-groups/{name}/rules/{id}":    c.editRule,
		"PUT /console/api/ports/{port}/security-groups":         c.setPortGroups,
	}
}

// call runs one RPC of the service in-process, with the served API's
// request limits and a deadline.
func call[Req proto.Message, Resp any](ctx context.Context, rpc func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	out, err := server.CheckLimits(ctx, req, nil, func(ctx context.Context, _ any) (any, error) { return rpc(ctx, req) })
	if err != nil {
		var zero Resp
		return zero, err
	}
	return out.(Resp), nil
}

// httpCode maps the service's gRPC codes to HTTP.
var httpCode = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.FailedPrecondition: http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.ResourceExhausted:  http.StatusConflict,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.Canceled:           http.StatusServiceUnavailable,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.Unauthenticated:    http.StatusUnauthorized,
}

// writeRPCError answers an RPC's error with its HTTP status and the
// message qnetctl prints.
func writeRPCError(w http.ResponseWriter, err error) {
	code, ok := httpCode[status.Code(err)]
	if !ok {
		code = http.StatusInternalServerError
	}
	writeError(w, code, rpcclient.Message(err))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

// reply answers an RPC's result (protojson) or its error.
func reply[M proto.Message](w http.ResponseWriter, m M, err error) {
	if err != nil {
		writeRPCError(w, err)
		return
	}
	b, err := marshal.Marshal(m)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, b)
}

// decode reads a JSON body into v (unknown fields refused): false after
// answering 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("request body: %v", err))
		return false
	}
	return true
}

// list is a JSON array of messages.
func list[M proto.Message](ms []M) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		j, err := marshal.Marshal(m)
		if err != nil { // an API message always marshals
			panic(fmt.Sprintf("console: %v", err))
		}
		b.Write(j)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// state is every object the page draws, as the list RPCs give them.
func (c *Console) state(w http.ResponseWriter, r *http.Request) {
	s, ctx, empty := c.o.Server, r.Context(), &api.Empty{}
	chassis, _ := json.Marshal(c.o.Chassis)
	out := map[string]json.RawMessage{"chassis": chassis}
	err := func() error {
		nets, err := call(ctx, s.ListNetworks, empty)
		if err != nil {
			return err
		}
		routers, err := call(ctx, s.ListRouters, empty)
		if err != nil {
			return err
		}
		fips, err := call(ctx, s.ListFloatingIPs, empty)
		if err != nil {
			return err
		}
		ports, err := call(ctx, s.ListPorts, &api.PortFilter{})
		if err != nil {
			return err
		}
		lbs, err := call(ctx, s.ListLoadBalancers, empty)
		if status.Code(err) == codes.Unavailable && s.LBs == nil { // a daemon without load balancers
			lbs, err = &api.LoadBalancerList{}, nil
		}
		if err != nil {
			return err
		}
		groups, err := call(ctx, s.ListSecurityGroups, empty)
		if err != nil {
			return err
		}
		out["networks"], out["routers"], out["floating_ips"] = list(nets.Networks), list(routers.Routers), list(fips.FloatingIps)
		out["ports"], out["load_balancers"], out["security_groups"] = list(ports.Ports), list(lbs.LoadBalancers), list(groups.Groups)
		return nil
	}()
	if err != nil {
		writeRPCError(w, err)
		return
	}
	b, _ := json.Marshal(out)
	writeJSON(w, b)
}

// groups is the security groups alone, what the page reads again when a
// port's groups change (the stream carries ports, not groups).
func (c *Console) groups(w http.ResponseWriter, r *http.Request) {
	groups, err := call(r.Context(), c.o.Server.ListSecurityGroups, &api.Empty{})
	if err != nil {
		writeRPCError(w, err)
		return
	}
	b, _ := json.Marshal(list(groups.Groups))
	writeJSON(w, b)
}

// presetOrder is the editor's order of the presets (others follow).
var presetOrder = []string{"web", "ssh", "rdp", "database", "icmp", "internal"}

// presets are the daemon's own presets with their rules in the rule
// syntax.
func (c *Console) presets(w http.ResponseWriter, _ *http.Request) {
	names := slices.Clone(presetOrder)
	for _, n := range secgroup.Presets() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	type preset struct {
		Name  string   `json:"name"`
		Rules []string `json:"rules"`
	}
	out := []preset{}
	for _, n := range names {
		rules, err := secgroup.Preset(n)
		if err != nil {
			continue
		}
		p := preset{Name: n, Rules: []string{}}
		for _, r := range rules {
			p.Rules = append(p.Rules, r.String())
		}
		out = append(out, p)
	}
	b, _ := json.Marshal(out)
	writeJSON(w, b)
}
