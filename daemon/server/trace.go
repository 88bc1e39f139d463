package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/daemon/trace"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// Trace runs ovn-trace for one packet and explains it.
func (s *Server) Trace(ctx context.Context, r *api.TraceRequest) (*api.TraceReply, error) {
	if s.Tracer == nil {
		return nil, status.Error(codes.Unavailable, "trace is not configured")
	}
	res, err := s.Tracer.Trace(ctx, trace.Request{Port: r.Port, Destination: r.Destination, Protocol: r.Protocol, DPort: r.Dport, Source: r.Source})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &api.TraceReply{Verdict: res.Verdict, Summary: res.Summary, OutputPort: res.OutputPort,
		SecurityGroup: res.Group, Raw: res.Raw}
	if res.Rule != "" {
		out.Rule = res.Rule + " (" + res.RuleText + ")"
	}
	for _, h := range res.Hops {
		for _, f := range h.Flows {
			out.Steps = append(out.Steps, &api.TraceStep{Datapath: h.Datapath, Stage: f.Stage, What: what(f)})
		}
	}
	return out, nil
}

func what(f trace.Flow) string {
	s := fmt.Sprintf("%s (priority %d)", f.Match, f.Priority)
	if len(f.Actions) > 0 {
		s += ": " + f.Actions[0]
		for _, a := range f.Actions[1:] {
			s += " " + a
		}
	}
	return s
}
