// Package nbdb holds libovsdb models generated from ovn-nb.ovsschema (committed next to it).
package nbdb

//go:generate go run github.com/ovn-kubernetes/libovsdb/cmd/modelgen -extended -p nbdb -o . ovn-nb.ovsschema
