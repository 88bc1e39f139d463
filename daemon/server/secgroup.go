package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

func groupOut(i sgstore.Info) *api.SecurityGroup {
	out := &api.SecurityGroup{Name: i.Name, Description: i.Description, Ports: i.Members, Acls: uint32(i.ACLs),
		LogDrops: i.LogDrops}
	for _, r := range i.Rules {
		out.Rules = append(out.Rules, ruleOut(r))
	}
	return out
}

func ruleOut(r secgroup.Rule) *api.SecurityGroupRule {
	return &api.SecurityGroupRule{Id: r.ID(), Spec: r.String()}
}

func parseRules(specs []string) ([]secgroup.Rule, error) {
	rules := make([]secgroup.Rule, 0, len(specs))
	for i, spec := range specs {
		r, err := secgroup.ParseRule(spec)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "rules[%d] %q: %v", i, spec, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// CreateSecurityGroup creates a group, with rules in the rule syntax.
func (s *Server) CreateSecurityGroup(ctx context.Context, g *api.SecurityGroup) (*api.SecurityGroup, error) {
	specs := make([]string, len(g.Rules))
	for i, r := range g.Rules {
		specs[i] = r.Spec
	}
	rules, err := parseRules(specs)
	if err != nil {
		return nil, err
	}
	if err := s.SG.Create(ctx, secgroup.Group{Name: g.Name, Description: g.Description, Rules: rules}); err != nil {
		return nil, toStatus(err)
	}
	return s.GetSecurityGroup(ctx, &api.SecurityGroupRef{Name: g.Name})
}

// GetSecurityGroup returns one group with its rules and members.
func (s *Server) GetSecurityGroup(_ context.Context, r *api.SecurityGroupRef) (*api.SecurityGroup, error) {
	i, err := s.SG.Get(r.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return groupOut(i), nil
}

// ListSecurityGroups returns every group.
func (s *Server) ListSecurityGroups(context.Context, *api.Empty) (*api.SecurityGroupList, error) {
	all, err := s.SG.List()
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.SecurityGroupList{}
	for _, i := range all {
		out.Groups = append(out.Groups, groupOut(i))
	}
	return out, nil
}

// DeleteSecurityGroup deletes a group without members.
func (s *Server) DeleteSecurityGroup(ctx context.Context, r *api.SecurityGroupRef) (*api.Empty, error) {
	if err := s.SG.Delete(ctx, r.Name); err != nil {
		return nil, toStatus(err)
	}
	return &api.Empty{}, nil
}

// AddSecurityGroupRules adds rules, or a preset's.
func (s *Server) AddSecurityGroupRules(ctx context.Context, r *api.SecurityGroupRules) (*api.SecurityGroupRulesReply, error) {
	rules, err := parseRules(r.Rules)
	if err != nil {
		return nil, err
	}
	if r.Preset != "" {
		p, err := secgroup.Preset(r.Preset)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "preset: %v", err)
		}
		rules = append(rules, p...)
	}
	if len(rules) == 0 {
		return nil, status.Error(codes.InvalidArgument, "rules: none given (a rule, or a preset)")
	}
	added, err := s.SG.AddRules(ctx, r.Group, rules)
	if err != nil {
		return nil, toStatus(err)
	}
	return s.rulesReply(ctx, r.Group, added)
}

// DeleteSecurityGroupRules deletes rules given by id or in the rule syntax.
func (s *Server) DeleteSecurityGroupRules(ctx context.Context, r *api.SecurityGroupRules) (*api.SecurityGroupRulesReply, error) {
	if len(r.Rules) == 0 {
		return nil, status.Error(codes.InvalidArgument, "rules: none given (rule ids or rules)")
	}
	if r.Preset != "" {
		return nil, status.Error(codes.InvalidArgument, "preset: only for adding rules")
	}
	if err := s.SG.DeleteRules(ctx, r.Group, r.Rules); err != nil {
		return nil, toStatus(err)
	}
	return s.rulesReply(ctx, r.Group, nil)
}

func (s *Server) rulesReply(ctx context.Context, group string, added []secgroup.Rule) (*api.SecurityGroupRulesReply, error) {
	g, err := s.GetSecurityGroup(ctx, &api.SecurityGroupRef{Name: group})
	if err != nil {
		return nil, err
	}
	out := &api.SecurityGroupRulesReply{Group: g}
	for _, r := range added {
		out.Added = append(out.Added, ruleOut(r))
	}
	return out, nil
}

// SetSecurityGroupLogging turns the logging of a group's drops on or off
// (idempotent) and returns the group.
func (s *Server) SetSecurityGroupLogging(ctx context.Context, r *api.SecurityGroupLogging) (*api.SecurityGroup, error) {
	if r.Name == "" {
		return nil, status.Error(codes.InvalidArgument, "name: required")
	}
	if err := s.SG.SetLogDrops(ctx, r.Name, r.LogDrops); err != nil {
		return nil, toStatus(err)
	}
	return s.GetSecurityGroup(ctx, &api.SecurityGroupRef{Name: r.Name})
}

// SetPortSecurityGroups changes a live port's groups.
func (s *Server) SetPortSecurityGroups(ctx context.Context, r *api.PortSecurityGroups) (*api.Port, error) {
	if r.Port == "" {
		return nil, status.Error(codes.InvalidArgument, "port: required")
	}
	lsp, err := s.SG.SetPortGroupsRow(ctx, r.Port, r.SecurityGroups)
	if err != nil {
		return nil, toStatus(err)
	}
	return s.port(ovn.PortOf(lsp)), nil
}
