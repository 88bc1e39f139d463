// Package sbdb holds libovsdb models generated from ovn-sb.ovsschema (committed next to it).
package sbdb

//go:generate go run github.com/ovn-kubernetes/libovsdb/cmd/modelgen -extended -p sbdb -o . ovn-sb.ovsschema
