package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// watchRun streams the daemon's events (`qnetctl port watch`: kinds
// ["port"]; `qnetctl events`) of one network or all, printing each as
// format says: "table" one line per event, "json" one object per line,
// "yaml" documents separated by "---". When the daemon goes away it says
// so on errOut and reconnects (with backoff), taking a fresh snapshot; it
// returns nil when ctx ends.
func watchRun(ctx context.Context, dial func(context.Context) (api.QuantumNetClient, func(), error), kinds []string, network, format string, out, errOut io.Writer) error {
	switch format {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("-o: %q is not table, json or yaml", format)
	}
	req := &api.WatchRequest{Kinds: kinds, Network: network}
	return rpcclient.Watch(ctx, dial, req, func(ev *api.Event) error {
		return printEvent(out, format, ev)
	}, rpcclient.WatchHooks{
		Lost: func(err error) {
			fmt.Fprintf(errOut, "qnetctl: lost the daemon (%s), reconnecting\n", rpcclient.Message(err))
		},
		Reconnected: func() { fmt.Fprintln(errOut, "qnetctl: reconnected (fresh snapshot)") },
	})
}

// printEvent writes one event in format.
func printEvent(out io.Writer, format string, ev *api.Event) error {
	switch format {
	case "json", "yaml":
		b, err := stableJSON(ev)
		if err != nil {
			return err
		}
		if format == "json" {
			_, err = fmt.Fprintf(out, "%s\n", b)
			return err
		}
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "---\n%s", y)
		return err
	}
	_, err := fmt.Fprintln(out, eventLine(ev))
	return err
}

// stableJSON is protojson with the proto's field names, compacted
// (protojson's spacing is deliberately unstable).
func stableJSON(m proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// eventLine is an event on one line: time, type, kind, name, then the
// object's main fields (for an update: the fields that changed, as they
// are now).
func eventLine(ev *api.Event) string {
	at := time.Unix(0, ev.TimeUnixNano).Format("15:04:05.000")
	switch ev.Type {
	case "synced":
		return at + " synced   (snapshot complete; changes follow)"
	case "resync":
		return at + " resync   (this stream fell behind: a fresh snapshot follows)"
	}
	head := fmt.Sprintf("%s %-8s %-13s %s", at, ev.Type, ev.Kind, ev.Name)
	m := eventObject(ev)
	if m == nil {
		return head
	}
	fields := summary[ev.Kind]
	if ev.Type == "updated" {
		fields = ev.Changed
	}
	var parts []string
	for _, f := range fields {
		if v, ok := fieldText(m, f); ok || ev.Type == "updated" {
			parts = append(parts, f+"="+v)
		}
	}
	if len(parts) == 0 {
		return head
	}
	return head + "  " + strings.Join(parts, " ")
}

// summary are the fields a line shows of each kind.
var summary = map[string][]string{
	"port":          {"network", "addresses", "bound_chassis", "up", "migration", "security_groups", "floating_ips", "dns_name"},
	"network":       {"subnet4", "subnet6", "external", "router", "ports"},
	"router":        {"networks", "gateway"},
	"floating_ip":   {"network", "port", "fixed_ip", "router"},
	"load_balancer": {"network", "vip", "protocol", "listeners", "members"},
}

func eventObject(ev *api.Event) proto.Message {
	switch {
	case ev.Port != nil:
		return ev.Port
	case ev.Network != nil:
		return ev.Network
	case ev.Router != nil:
		return ev.Router
	case ev.FloatingIp != nil:
		return ev.FloatingIp
	case ev.LoadBalancer != nil:
		return ev.LoadBalancer
	}
	return nil
}

// fieldText is a field of m as text (ok false: unset or empty; lists
// comma-separated, messages as compact JSON).
func fieldText(m proto.Message, name string) (string, bool) {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || !r.Has(fd) {
		return "", false
	}
	v := r.Get(fd)
	if fd.IsList() {
		var items []string
		for i := 0; i < v.List().Len(); i++ {
			items = append(items, valueText(fd, v.List().Get(i)))
		}
		return strings.Join(items, ","), true
	}
	return valueText(fd, v), true
}

func valueText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if fd.Kind() == protoreflect.MessageKind {
		b, err := stableJSON(v.Message().Interface())
		if err != nil {
			return "?"
		}
		return string(b)
	}
	return fmt.Sprint(v.Interface())
}
