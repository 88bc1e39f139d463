package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// traceRun runs ovn-trace through the daemon for one packet (qnetctl trace
// PORT DST [tcp|udp|icmp] [DPORT] [--source ADDR]) and prints where it goes
// and which security group rule decided; json and yaml print the reply.
func traceRun(ctx context.Context, c api.QuantumNetClient, req *api.TraceRequest, format string, out io.Writer) error {
	r, err := c.Trace(ctx, req)
	if err != nil {
		return err
	}
	switch format {
	case "json", "yaml":
		b, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true, Indent: "  "}.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	case "", "table":
	default:
		return fmt.Errorf("-o: %q is not table, json or yaml", format)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Summary)
	fmt.Fprintf(&b, "verdict:         %s\n", r.Verdict)
	if r.OutputPort != "" {
		fmt.Fprintf(&b, "output port:     %s\n", r.OutputPort)
	}
	if r.SecurityGroup != "" {
		fmt.Fprintf(&b, "security group:  %s\n", r.SecurityGroup)
		rule := r.Rule
		if rule == "" {
			rule = "(none: the group's default drop)"
		}
		fmt.Fprintf(&b, "rule:            %s\n", rule)
	}
	dp := ""
	for _, s := range r.Steps {
		if s.Datapath != dp {
			dp = s.Datapath
			fmt.Fprintf(&b, "\n%s\n", dp)
		}
		fmt.Fprintf(&b, "  %-24s %s\n", s.Stage, s.What)
	}
	_, err = io.WriteString(out, b.String())
	return err
}
