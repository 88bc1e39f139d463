package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/api"
)

var errNotFound = errors.New("port not found")

// writeRoutes are the fake's writes: CSRF header checked, the answer is
// the group (or the port), errors are {"error": message}.
func (f *fakeAPI) writeRoutes(mux *http.ServeMux) {
	route := func(pattern string, h func(r *http.Request, body map[string]any) (proto.Message, int, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-QN-CSRF") != fakeToken {
				reply(w, 403, map[string]string{"error": "console: missing or wrong X-QN-CSRF"})
				return
			}
			body := map[string]any{}
			_ = json.NewDecoder(r.Body).Decode(&body)
			f.mu.Lock()
			defer f.mu.Unlock()
			v, code, err := h(r, body)
			if err != nil {
				reply(w, code, map[string]string{"error": err.Error()})
				return
			}
			f.writes = append(f.writes, r.Method+" "+r.URL.Path)
			reply(w, 200, raw(v))
		})
	}
	route("POST /console/api/security-groups", func(_ *http.Request, b map[string]any) (proto.Message, int, error) {
		name, _ := b["name"].(string)
		g := &api.SecurityGroup{Name: name}
		if err := secgroup.ValidateName(name); err != nil {
			return nil, 400, err
		}
		f.sgs[name] = g
		return g, 0, nil
	})
	route("DELETE /console/api/security-groups/{name}", func(r *http.Request, _ map[string]any) (proto.Message, int, error) {
		delete(f.sgs, r.PathValue("name"))
		return &api.Empty{}, 0, nil
	})
	route("POST /console/api/security-groups/{name}/rules", func(r *http.Request, b map[string]any) (proto.Message, int, error) {
		specs := asList(b["rules"])
		preset, _ := b["preset"].(string)
		if err := f.addRules(r.PathValue("name"), specs, preset); err != nil {
			return nil, 400, err
		}
		return f.sgs[r.PathValue("name")], 0, nil
	})
	route("DELETE /console/api/security-groups/{name}/rules/{id}", func(r *http.Request, _ map[string]any) (proto.Message, int, error) {
		g := f.sgs[r.PathValue("name")]
		g.Rules = slices.DeleteFunc(g.Rules, func(x *api.SecurityGroupRule) bool { return x.Id == r.PathValue("id") })
		return g, 0, nil
	})
	route("PUT /console/api/security-groups/{name}/rules/{id}", func(r *http.Request, b map[string]any) (proto.Message, int, error) {
		g := f.sgs[r.PathValue("name")]
		spec, _ := b["rule"].(string)
		nr, err := secgroup.ParseRule(spec)
		if err != nil {
			return nil, 400, err
		}
		for _, x := range g.Rules {
			if x.Id == r.PathValue("id") {
				x.Id, x.Spec = nr.ID(), nr.String()
			}
		}
		return g, 0, nil
	})
	route("PUT /console/api/ports/{port}/security-groups", func(r *http.Request, b map[string]any) (proto.Message, int, error) {
		for _, p := range f.ports {
			if p.Name == r.PathValue("port") {
				p.SecurityGroups = asList(b["security_groups"])
				return p, 0, nil
			}
		}
		return nil, 404, errNotFound
	})
}

func asList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
