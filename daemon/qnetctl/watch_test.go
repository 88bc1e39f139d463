package main

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/pkg/api"
)

// TestPrintEvent: an event in each format, with the proto's field names.
func TestPrintEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 40, 1, 0, time.Local).UnixNano()
	ev := &api.Event{Type: "updated", Kind: "port", Name: "c1-eth0", Seq: 7, TimeUnixNano: at, Changed: []string{"bound_chassis", "up"},
		Port: &api.Port{Name: "c1-eth0", Network: "blue", Addresses: []string{"10.0.0.5"}, BoundChassis: "ch1", Up: true}}
	for _, c := range []struct{ format, want string }{
		{"table", "08:40:01.000 updated  port          c1-eth0  bound_chassis=ch1 up=true\n"},
		{"json", `{"type":"updated","kind":"port","name":"c1-eth0","seq":"7","time_unix_nano":"` + itoa(at) + `","changed":["bound_chassis","up"],` +
			`"port":{"name":"c1-eth0","network":"blue","addresses":["10.0.0.5"],"bound_chassis":"ch1","up":true}}` + "\n"},
		{"yaml", "---\nchanged:\n- bound_chassis\n- up\nkind: port\nname: c1-eth0\nport:\n  addresses:\n  - 10.0.0.5\n  bound_chassis: ch1\n" +
			"  name: c1-eth0\n  network: blue\n  up: true\nseq: \"7\"\ntime_unix_nano: \"" + itoa(at) + "\"\ntype: updated\n"},
	} {
		var buf bytes.Buffer
		if err := printEvent(&buf, c.format, ev); err != nil {
			t.Fatal(err)
		}
		if buf.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.format, buf.String(), c.want)
		}
	}
	var buf bytes.Buffer
	created := &api.Event{Type: "created", Kind: "port", Name: "c1-eth0", TimeUnixNano: at, Port: ev.Port}
	if err := printEvent(&buf, "table", created); err != nil {
		t.Fatal(err)
	}
	if want := "created  port          c1-eth0  network=blue addresses=10.0.0.5 bound_chassis=ch1 up=true"; !strings.Contains(buf.String(), want) {
		t.Errorf("table: %q, want %q", buf.String(), want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEventKinds: qnetctl events --kind takes the kinds the daemon streams.
func TestEventKinds(t *testing.T) {
	if a, b := slices.Sorted(slices.Values(eventKinds)), slices.Sorted(slices.Values(events.Kinds)); !slices.Equal(a, b) {
		t.Errorf("qnetctl's kinds %v, the daemon's %v", a, b)
	}
}
