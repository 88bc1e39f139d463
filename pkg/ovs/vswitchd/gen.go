// Package vswitchd holds libovsdb models generated from vswitch.ovsschema (committed next to it).
package vswitchd

//go:generate go run github.com/ovn-kubernetes/libovsdb/cmd/modelgen -extended -p vswitchd -o . vswitch.ovsschema
