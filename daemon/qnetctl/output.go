package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// marshal is how -o json and -o yaml write the daemon's objects: the
// proto's own field names (snake_case), every field present (a false, a
// zero, an empty list too), so that a script finds the same fields
// whatever the object holds. 64-bit numbers are strings (protojson).
var marshal = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

// printObject writes m as format (json or yaml) to out.
func printObject(out io.Writer, format string, m proto.Message) error {
	b, err := marshal.Marshal(m)
	if err != nil {
		return err
	}
	return printJSON(out, format, b)
}

// printList writes items as format (json or yaml): an array of objects.
func printList[M proto.Message](out io.Writer, format string, items []M) error {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, m := range items {
		j, err := marshal.Marshal(m)
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(j)
	}
	b.WriteByte(']')
	return printJSON(out, format, b.Bytes())
}

// printValue writes v (a Go value with json tags, for what is not a
// message of the API: qnetctl version) as format.
func printValue(out io.Writer, format string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return printJSON(out, format, b)
}

// printJSON writes the JSON document b as format: indented JSON (protojson's
// own spacing is deliberately unstable, so it is re-indented), or YAML.
func printJSON(out io.Writer, format string, b []byte) error {
	if format == "yaml" {
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = out.Write(y)
		return err
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, b, "", "  "); err != nil {
		return fmt.Errorf("indenting JSON: %w", err)
	}
	ind.WriteByte('\n')
	_, err := out.Write(ind.Bytes())
	return err
}

// structured reports whether -o asks for json or yaml.
func (c *cli) structured() bool { return c.output == "json" || c.output == "yaml" }

// print writes m as -o asks (json or yaml).
func (c *cli) print(m proto.Message) error { return printObject(c.out, c.output, m) }
