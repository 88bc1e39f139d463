package nbstore

import (
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// A port group that names an ACL or a port the cache does not have yet (a
// transaction half applied to the cache) is an inconsistent read.
func TestConsistent(t *testing.T) {
	acls := []*nbdb.ACL{{UUID: "a1"}}
	ports := map[string]string{"p1": "port-1"}
	for _, tc := range []struct {
		name string
		pg   nbdb.PortGroup
		want bool
	}{
		{"all known", nbdb.PortGroup{ACLs: []string{"a1"}, Ports: []string{"p1"}}, true},
		{"empty", nbdb.PortGroup{}, true},
		{"unknown ACL", nbdb.PortGroup{ACLs: []string{"a1", "a2"}, Ports: []string{"p1"}}, false},
		{"unknown port", nbdb.PortGroup{ACLs: []string{"a1"}, Ports: []string{"p1", "p2"}}, false},
	} {
		if got := consistent([]*nbdb.PortGroup{&tc.pg}, acls, ports); got != tc.want {
			t.Errorf("%s: consistent = %v, want %v", tc.name, got, tc.want)
		}
	}
}
