# QuantumNet. `make help` lists the targets.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/quantumnet/quantumnet/daemon/server.Version=$(VERSION) -X main.Version=$(VERSION)
PREFIX ?= /usr/local
DEB_DIR ?= dist
# make deb / make install fail when qnetctl cannot generate the shell
# completions and man pages; PKG_STRICT=0 makes that a warning (none installed).
PKG_STRICT ?= 1

.PHONY: help deps build test test-unit test-integration test-e2e bench bench-sg bench-smoke lint generate console check-generated \
        sandbox-up sandbox-down sandbox-status demo install uninstall deb clean crossings fuzz

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-18s %s\n", $$1, $$2}'

deps: ## install missing Debian packages (OVS, OVN, iproute2, ...); idempotent
	@scripts/deps.sh

build: ## build quantumnetd, the quantumnet CNI plugin, the qemu hook and qnetctl into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/quantumnetd ./daemon
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/quantumnet ./plugins/cni
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/qnetctl ./daemon/qnetctl
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/quantumnet-qemu-hook ./hooks/qemu

test: deps build ## everything CI runs: lint, generated code, unit, integration and end-to-end tests (VMs too), the benchmarks' smoke runs
	scripts/deps.sh --with-libvirt
	$(MAKE) lint check-generated
	scripts/test-sandbox.sh
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/quantumnet/test/')
	# One end-to-end package at a time: each runs OVN chassis, daemons and
	# TCG guests of its own, and two at once on 2 cores starve BFD, DHCP and
	# handshakes into timeouts.
	$(GO) test -p 1 -count=1 -timeout 20m ./test/...
	$(MAKE) bench-smoke

test-unit: ## unit tests only (no root, no OVS)
	QN_SKIP_INTEGRATION=1 $(GO) test -count=1 -short ./...

test-integration: build ## tests against a real ovsdb-server (started by the tests)
	$(GO) test -count=1 -run Integration ./pkg/... ./daemon/...

test-e2e: deps build ## end-to-end tests: OVN sandbox, namespaces, the plugin binary, libvirt VMs (root)
	scripts/deps.sh --with-libvirt
	$(GO) test -count=1 -timeout 20m -v ./test/e2e/... ./test/vm/... ./test/migration/... ./test/cluster/... ./test/crash/... ./test/northsouth/... ./test/bgp/...

bench: deps build ## benchmarks, side by side with their peers: CNI ADD latency, IPAM, live migration and floating IP, gateway failover, port mappings, load balancer failover and connection setup, DNS resolver vs dnsmasq, BGP, security groups, one host with a thousand ports, the services sweep by networks
	$(GO) run ./test/bench/cniadd -bin $(BIN)
	$(GO) run ./test/bench/ipam
	$(GO) run ./test/bench/migration
	$(GO) run ./test/bench/northsouth -bin $(BIN)
	$(GO) run ./test/bench/cluster -bin $(BIN)
	$(GO) run ./test/bench/nchassis -bin $(BIN)
	$(GO) run ./test/bench/portmap -bin $(BIN)
	$(GO) run ./test/bench/lb -bin $(BIN)
	$(GO) run ./test/bench/dns -bin $(BIN)
	$(GO) test -count=1 -run '^$$' -bench BGP -benchtime 1x ./test/bgp
	$(GO) run ./test/bench/scale -bin $(BIN)
	$(GO) test -run '^$$' -bench Sweep -benchtime 5x ./daemon/netsvc
	$(MAKE) bench-sg

bench-smoke: build ## every benchmark in smoke mode (a handful of operations, same code path and checks; fails when one breaks): part of make test
	$(GO) run ./test/bench/cniadd -smoke -bin $(BIN)
	$(GO) run ./test/bench/ipam -smoke
	$(GO) run ./test/bench/migration -smoke
	$(GO) run ./test/bench/northsouth -smoke -bin $(BIN)
	$(GO) run ./test/bench/cluster -smoke -bin $(BIN)
	$(GO) run ./test/bench/nchassis -smoke -bin $(BIN)
	$(GO) run ./test/bench/portmap -smoke -bin $(BIN)
	QN_BENCH_SMOKE=1 $(GO) test -count=1 -run '^$$' -bench BGP -benchtime 1x ./test/bgp
	$(GO) run ./test/bench/lb -smoke -bin $(BIN)
	$(GO) run ./test/bench/dns -smoke -bin $(BIN)
	$(GO) run ./test/bench/scale -smoke -bin $(BIN)
	QN_BENCH_SMOKE=1 $(GO) test -count=1 -run '^$$' -bench Sweep -benchtime 1x ./daemon/netsvc
	QN_BENCH_SMOKE=1 $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./daemon/secgroup ./daemon/secgroup/nbstore

bench-sg: ## security groups: translate and apply 1,000 ports x 10 groups x 20 rules, ACL rows; vs per-port ACLs
	$(GO) test -run '^$$' -bench . -benchmem ./daemon/secgroup
	$(GO) test -run '^$$' -bench . -benchtime 5x ./daemon/secgroup/nbstore

# Every fuzz target, as package:target. Plain `go test` (make test) runs
# their seed corpora; make fuzz runs each with -fuzz for FUZZTIME.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./plugins/cni:FuzzConfig ./plugins/cni:FuzzArgs ./plugins/cni:FuzzPrevResult \
	./pkg/vmxml:FuzzParse ./pkg/vmxml:FuzzMetadata \
	./daemon/secgroup:FuzzParseRule ./daemon/secgroup:FuzzGroupNames \
	./daemon/network:FuzzParse ./daemon/network:FuzzFromSwitch ./daemon/network:FuzzParseRange \
	./daemon/network:FuzzParseSubnet ./daemon/network:FuzzLabel \
	./daemon/config:FuzzParse ./daemon/netsvc:FuzzReverseName \
	./daemon/dns:FuzzParseReverse ./daemon/dns:FuzzReply \
	./pkg/ovn:FuzzPortOf ./pkg/ovn:FuzzReservationOf \
	./daemon/server:FuzzCheckLimits ./ipam:FuzzPool

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each; a failing input lands in the package's testdata/fuzz
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do \
		echo "== $${t%%:*} $${t##*:}"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}" 2>&1 | awk '/^fuzz: elapsed/ {last = $$0; next} {print} END {if (last) print last}'; \
	done

crossings: ## list the package boundaries the CNI ADD path crosses (down, UP, side), from the daemon's call graph
	cd scripts/crossings && $(GO) run . ../..

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

generate: ## regenerate libovsdb models and protobuf code
	$(GO) generate ./pkg/...

console: ## rebuild the web console's page (daemon/console/web/dist) from its source (daemon/console/web/src)
	$(GO) run ./daemon/console/web/build

check-generated: ## fail if generated code differs from what its schema/proto produce
	@scripts/check-generated.sh

sandbox-up: ## start a local OVN deployment in /tmp/quantumnet-sandbox (no systemd)
	@scripts/sandbox.sh up

sandbox-down: ## stop the local OVN deployment and remove its run dir
	@scripts/sandbox.sh down

sandbox-status: ## show what the sandbox runs
	@scripts/sandbox.sh status

demo: deps build ## the whole thing: OVN sandbox, quantumnetd, a network, two containers pinging
	@scripts/demo.sh

# make install's fixed paths can be moved too: SYSCONFDIR (/etc), CNI_LINK_DIR
# (/opt/cni/bin), LIBVIRT_HOOKS_DIR (/etc/libvirt/hooks), UNIT_DIR
# (PREFIX/lib/systemd/system); see scripts/package/stage.sh.
install: build ## install what the Debian package holds under DESTDIR/PREFIX (default /usr/local): binaries, unit, config (kept if present), conflist example, completions, man pages
	QN_PKG_STRICT=$(PKG_STRICT) scripts/package/stage.sh "$(DESTDIR)" "$(PREFIX)" "$(BIN)"

uninstall: build ## remove what make install installed (same DESTDIR/PREFIX); the config in /etc/quantumnet stays
	@set -eo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	scripts/package/stage.sh "$$tmp" "$(PREFIX)" "$(BIN)" 2>/dev/null; \
	(cd "$$tmp" && find . \( -type f -o -type l \) ! -path ./etc/quantumnet/quantumnetd.toml -printf '%P\n') | \
	while read -r f; do rm -fv "$(DESTDIR)/$$f"; done; \
	rmdir "$(DESTDIR)$(PREFIX)/libexec/quantumnet" "$(DESTDIR)$(PREFIX)/share/doc/quantumnet/examples" \
		"$(DESTDIR)$(PREFIX)/share/doc/quantumnet" 2>/dev/null || true

deb: build ## build DEB_DIR/quantumnet_<version>_<arch>.deb (dpkg-deb; the files of make install with PREFIX=/usr)
	QN_PKG_STRICT=$(PKG_STRICT) scripts/package/deb.sh "$(BIN)" "$(DEB_DIR)" "$(VERSION)"

clean: ## remove build output
	rm -rf $(BIN)
