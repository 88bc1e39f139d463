#!/usr/bin/env bash
# check-generated.sh — fail when committed generated code (libovsdb models,
# protobuf/gRPC code) differs from what its committed schema / .proto produce.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GOBIN_DIR=$(go env GOPATH)/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# libovsdb models, generated with the modelgen of the libovsdb version in go.mod.
for spec in "pkg/ovn/nbdb nbdb ovn-nb.ovsschema" "pkg/ovn/sbdb sbdb ovn-sb.ovsschema" "pkg/ovs/vswitchd vswitchd vswitch.ovsschema"; do
	read -r dir pkg schema <<<"$spec"
	mkdir -p "$tmp/$dir"
	go run github.com/ovn-kubernetes/libovsdb/cmd/modelgen -extended -p "$pkg" -o "$tmp/$dir" "$dir/$schema"
	for f in "$tmp/$dir"/*.go; do
		if ! diff -q "$f" "$dir/$(basename "$f")" >/dev/null 2>&1; then
			echo "check-generated: $dir/$(basename "$f") is stale: run 'make generate'" >&2
			fail=1
		fi
	done
done

# protobuf + gRPC code, with pinned generators.
if ! command -v protoc >/dev/null; then
	echo "check-generated: protoc missing: run scripts/deps.sh (package protobuf-compiler)" >&2
	exit 1
fi
GOFLAGS=-mod=mod go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12 2>/dev/null
GOFLAGS=-mod=mod go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2 2>/dev/null
mkdir -p "$tmp/api"
(cd pkg/api && PATH=$GOBIN_DIR:$PATH protoc --go_out="$tmp/api" --go_opt=paths=source_relative \
	--go-grpc_out="$tmp/api" --go-grpc_opt=paths=source_relative quantumnet.proto)
for f in quantumnet.pb.go quantumnet_grpc.pb.go; do
	if ! diff -q "$tmp/api/$f" "pkg/api/$f" >/dev/null; then
		echo "check-generated: pkg/api/$f is stale: run 'make generate'" >&2
		fail=1
	fi
done
# the web console's page: dist/ as make console builds it from src/.
mkdir -p "$tmp/console" && cp -r daemon/console/web/src "$tmp/console/src"
go run ./daemon/console/web/build -dir "$tmp/console" >/dev/null
if ! diff -r "$tmp/console/dist" daemon/console/web/dist >/dev/null; then
	echo "check-generated: daemon/console/web/dist is stale: run 'make console'" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "check-generated: generated code is up to date"
exit "$fail"
