package config

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse: any TOML text either fails to parse or gives a valid config
// that, written back as TOML, parses to the same config.
func FuzzParse(f *testing.F) {
	f.Add(Example)
	f.Add("[daemon]\nready_timeout = \"1ns\"\n")
	f.Add("[daemon]\nsocket = \"/run/qn.sock\"\nmac_prefix = \"0A:51:4E\"\n")
	f.Add("[chassis]\nname = \"h1\"\nbridge_mappings = [\"physnet:br-ex\"]\nmanage = false\n")
	f.Add("[ovn]\nnb_remotes = [\"ssl:127.0.0.1:6641\"]\n")
	f.Add("[unknown]\nx = 1\n")
	f.Fuzz(func(t *testing.T, text string) {
		c := Defaults()
		if Parse(text, &c) != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(c); err != nil {
			return // a value TOML cannot write (e.g. a NUL in a string) is not a round-trip failure of ours
		}
		back := Defaults()
		if err := Parse(buf.String(), &back); err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("config written back as\n%s\nparses to %+v, %v; want %+v", buf.String(), back, err, c)
		}
	})
}
