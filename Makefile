# hako: build, test and demo. Every target runs as root on a fresh Debian 12
# machine (test/deps.sh installs what is missing). `bench` lives elsewhere.

export PATH := /usr/local/go/bin:$(PATH)

GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo unknown)
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# encoding/json on the json/v2 engine: the same API and behaviour, but it
# builds its per-type codecs far more cheaply. Every hako process decodes
# the large runtime-spec types once, cold: 0.5 instead of 1.3 ms, paid by
# the CLI and again by the container's init (docs/performance.md).
export GOEXPERIMENT := jsonv2

# Static, so the binary can be bind-mounted or copied anywhere (and sealed).
BUILDTAGS := netgo osusergo
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) -extldflags -static

# make integration RUN=TestLifecycle  runs a subset of the integration suite.
RUN ?=
TESTFLAGS ?=

.PHONY: all build test unit integration install demo vet clean deps test-systemd test-vm test-clients conformance bench

all: build

build:
	CGO_ENABLED=1 $(GO) build -trimpath -tags "$(BUILDTAGS)" -ldflags "$(LDFLAGS)" -o bin/hako ./cmd/hako

deps:
	test/deps.sh

# The whole suite: vet, unit tests, integration tests against bin/hako.
test:
	test/deps.sh
	test/run-tests.sh

# Unit tests: every package but the ones under test/ (no root needed).
unit:
	$(GO) test -count=1 $(TESTFLAGS) $$($(GO) list -e ./... | grep -v '/test/')

# Integration tests only, against bin/hako (HAKO_BIN=... to test another runtime).
integration: build
	HAKO_BIN=$${HAKO_BIN:-$(CURDIR)/bin/hako} $(GO) test -count=1 -timeout 20m $(if $(RUN),-run '$(RUN)') $(TESTFLAGS) ./test/integration/

install: build
	install -D -m 0755 bin/hako $(DESTDIR)$(PREFIX)/bin/hako

# Builds hako, a busybox rootfs and a bundle, and runs a container that says hello.
demo: deps build
	test/mkrootfs.sh _output/rootfs
	rm -rf _output/demo
	mkdir -p _output/demo _output/state
	bin/hako spec --bundle _output/demo
	sed -i \
		-e 's|"path": *"rootfs"|"path": "$(CURDIR)/_output/rootfs"|' \
		-e 's|"terminal": *true|"terminal": false|' \
		-e 's|^\([[:space:]]*\)"sh"[[:space:]]*$$|\1"sh", "-c", "echo \\"hello from hako: $$(hostname), pid $$$$, uid $$(id -u)\\""|' \
		_output/demo/config.json
	bin/hako --root $(CURDIR)/_output/state run --bundle _output/demo demo-$$$$

vet:
	$(GO) vet ./...

clean:
	rm -rf bin _output

# The systemd tier: a real systemd booted in a namespace container on this
# host (a debootstrap rootfs cached under /var/cache/hako-test), the
# systemd driver over the system bus and a lingering user's bus.
test-systemd: build
	test/systemd/run.sh

# The VM tier: Debian 12 under QEMU (software emulation) with every cgroup
# v2 controller; memory, pids and cpu limits shown to hold, rootful and
# rootless. The image is built once and cached in /var/cache/hako-vm.
test-vm: build
	test/vm/run.sh

# The clients tier: podman (root and rootless), containerd, Docker and CRI
# from Debian's packages drive bin/hako (test/clients/suite-*.sh; one
# suite: test/clients/run.sh podman).
test-clients: build
	test/clients/run.sh

# The OCI conformance tier: every validation program of runtime-tools (a
# pinned pseudo-version, built once and cached in
# /var/cache/hako-conformance) against bin/hako; a table and "N passed, M
# failed, K skipped". CONFORMANCE_RUNTIME=runc (or crun) gives the same
# table for another runtime; see test/conformance/run.sh.
conformance: build
	HAKO_BIN=$${HAKO_BIN:-$(CURDIR)/bin/hako} test/conformance/run.sh

# hako, runc and crun interleaved on one busybox bundle (BENCH_N runs per
# row, default 30): as root, as a rootless user, with podman's seccomp
# profile, and 10 to 200 containers at once; the report goes to
# _output/bench.md. BENCH_QUICK=1 for a fast pass; HAKO_BIN=... measures
# another hako binary (then nothing is built). Not part of test.
bench: $(if $(HAKO_BIN),,build)
	BENCH_INVOKED_AS="make bench" test/bench/bench.sh
