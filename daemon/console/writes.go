package console

import (
	"fmt"
	"net/http"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// The writes: each one RPC of the service (the edit of a rule two), behind
// guard's CSRF and origin checks.

func (c *Console) createGroup(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Rules       []string `json:"rules"`
	}
	if !decode(w, r, &body) {
		return
	}
	g := &api.SecurityGroup{Name: body.Name, Description: body.Description}
	for _, spec := range body.Rules {
		g.Rules = append(g.Rules, &api.SecurityGroupRule{Spec: spec})
	}
	out, err := call(r.Context(), c.o.Server.CreateSecurityGroup, g)
	reply(w, out, err)
}

func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request) {
	out, err := call(r.Context(), c.o.Server.DeleteSecurityGroup, &api.SecurityGroupRef{Name: r.PathValue("name")})
	reply(w, out, err)
}

func (c *Console) addRules(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Rules  []string `json:"rules"`
		Preset string   `json:"preset"`
	}
	if !decode(w, r, &body) {
		return
	}
	out, err := call(r.Context(), c.o.Server.AddSecurityGroupRules,
		&api.SecurityGroupRules{Group: r.PathValue("name"), Rules: body.Rules, Preset: body.Preset})
	reply(w, out.GetGroup(), err)
}

// deleteRule deletes a rule by its id (an id the group has not is 404, as
// the store words it; the RPC would also take rule text).
func (c *Console) deleteRule(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	if !c.ruleExists(w, r, name, id) {
		return
	}
	out, err := call(r.Context(), c.o.Server.DeleteSecurityGroupRules, &api.SecurityGroupRules{Group: name, Rules: []string{id}})
	reply(w, out.GetGroup(), err)
}

// ruleExists checks that group name has rule id: false after answering
// 404 (or the RPC's error).
func (c *Console) ruleExists(w http.ResponseWriter, r *http.Request, name, id string) bool {
	g, err := call(r.Context(), c.o.Server.GetSecurityGroup, &api.SecurityGroupRef{Name: name})
	if err != nil {
		writeRPCError(w, err)
		return false
	}
	for _, rule := range g.Rules {
		if rule.Id == id {
			return true
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("security group %s has no rule %q", name, id))
	return false
}

// editRule replaces one rule, all or nothing. The store has no replace in
// one transaction, so: the new rule is added first (the daemon's parser
// validates it: a bad rule writes nothing and the old one stays), then the
// old one is deleted; if that fails the new one is deleted again (restored)
// and the failure answered. In between the group briefly has both rules.
func (c *Console) editRule(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Rule string `json:"rule"`
	}
	if !decode(w, r, &body) {
		return
	}
	s, ctx, name, id := c.o.Server, r.Context(), r.PathValue("name"), r.PathValue("id")
	if !c.ruleExists(w, r, name, id) {
		return
	}
	added, err := call(ctx, s.AddSecurityGroupRules, &api.SecurityGroupRules{Group: name, Rules: []string{body.Rule}})
	if err != nil {
		writeRPCError(w, err)
		return
	}
	if len(added.Added) == 0 { // the group has the new rule already: the old one itself?
		if nr, err := secgroup.ParseRule(body.Rule); err == nil && nr.ID() == id {
			reply(w, added.Group, nil)
			return
		}
	}
	out, err := call(ctx, s.DeleteSecurityGroupRules, &api.SecurityGroupRules{Group: name, Rules: []string{id}})
	if err != nil {
		for _, a := range added.Added {
			if _, rerr := call(ctx, s.DeleteSecurityGroupRules, &api.SecurityGroupRules{Group: name, Rules: []string{a.Id}}); rerr != nil {
				c.o.Log.Error("console: rule edit: could not take back the new rule", "group", name, "rule", a.Spec, "err", rerr)
			}
		}
		writeRPCError(w, err)
		return
	}
	reply(w, out.Group, nil)
}

func (c *Console) setPortGroups(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SecurityGroups []string `json:"security_groups"`
	}
	if !decode(w, r, &body) {
		return
	}
	out, err := call(r.Context(), c.o.Server.SetPortSecurityGroups,
		&api.PortSecurityGroups{Port: r.PathValue("port"), SecurityGroups: body.SecurityGroups})
	reply(w, out, err)
}
