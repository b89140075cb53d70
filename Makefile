# gpm — build, test, lint, demo, bench. `make test` is the command CI runs (.ci/run).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/gpm
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM     := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
GOARCH   ?= $(shell $(GO) env GOARCH)
GOOS     ?= $(shell $(GO) env GOOS)
# The thin CLI's ELF entry point on linux/amd64 (internal/handoff/entry_linux_amd64.s): `gpm run` and `gpm daemon`
# are exec'd into gpmd before the thin CLI's Go runtime starts (issue 10). Elsewhere its first package init does it.
thin_entry = $(if $(filter linux/amd64,$(1)),-E _rt0_gpm_handoff)
# A Debian/RPM version: the last tag, else 0.1.0~git<date>.<commit> (~ sorts before the release).
PKG_VERSION ?= $(shell v=$$(git describe --tags --abbrev=0 2>/dev/null | sed 's/^v//'); [ -n "$$v" ] && echo "$$v" || git log -1 --format='0.1.0~git%cd.%h' --date=format:%Y%m%d 2>/dev/null || echo 0.1.0)

.PHONY: build test lint cross demo bench bench-dbus bench-run-overhead bench-web clean package e2e-systemd fuzz leak

# gpm, the thin CLI (-tags gpmthin: client and flags, no daemon, parsers, HTTP or D-Bus; cmd/gpm/thin.go), and beside
# it gpmd, the whole program but the HTTP server (-tags gpmnoweb), that gpm hands the daemon, gpm run, export and
# process files to; gpmd-web, gpmd with the HTTP API, which gpmd execs for a daemon whose API is on
# (service/web_nohttp.go says why); and gpm-monit, the console `gpm monit` runs (a program of its own: its terminal
# libraries stay out of gpm and its daemon).
build:
	CGO_ENABLED=0 $(GO) build -tags gpmthin -trimpath -ldflags '$(LDFLAGS) $(call thin_entry,$(GOOS)/$(GOARCH))' -o $(BIN) ./cmd/gpm
	CGO_ENABLED=0 $(GO) build -tags gpmnoweb -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)d ./cmd/gpm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)d-web ./cmd/gpm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)-monit ./cmd/gpm-monit
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/modules/notify-crash/notify-crash ./modules/notify-crash
	cp modules/notify-crash/gpm-module.json bin/modules/notify-crash/

# Unit tests and end-to-end tests (real daemon, real processes, real signals), with the race detector.
test:
	$(GO) test -race -count=1 -timeout 15m ./...

# Every Go fuzz target (func FuzzXxx in a *_test.go file) for FUZZTIME each, one `go test -fuzz` per target, one
# after another (.ci/fuzz.sh). A failing input lands in the package's testdata/fuzz/FuzzXxx/: commit it once fixed,
# `make test` then runs it. FUZZFLAGS=-parallel=1 on a busy machine.
FUZZTIME     ?= 10s
FUZZMINIMIZE ?= 2s
FUZZFLAGS    ?=
fuzz:
	GO='$(GO)' FUZZTIME='$(FUZZTIME)' FUZZMINIMIZE='$(FUZZMINIMIZE)' FUZZFLAGS='$(FUZZFLAGS)' .ci/fuzz.sh

# The leak test at full count (issue 13): 10,000 restarts of crash-looping apps, then the daemon's fds, goroutines,
# live heap and RSS compared with before (e2e/leak_test.go; CI runs it with 500 in make test). About 3 minutes on a
# busy 2-core machine (60 restarts/s).
LEAK_RESTARTS ?= 10000
leak:
	GPM_LEAK_RESTARTS=$(LEAK_RESTARTS) $(GO) test -race -count=1 -timeout 30m -run '^TestLeakRestarts$$' -v ./e2e/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags gpmthin ./cmd/gpm
	$(GO) vet -tags gpmnoweb ./cmd/gpm ./service
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags gpmthin ./cmd/gpm
	$(GO) run $(STATICCHECK) -tags gpmnoweb ./cmd/gpm ./service

# The CLI must build for every OS we promise, with cgo off.
cross:
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -tags gpmthin -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags gpmthin -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -tags gpmnoweb -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -tags gpmnoweb -o /dev/null ./cmd/gpm
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/gpm-monit
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/gpm-monit

# Starts a throw-away daemon (GPM_HOME=.demo) running examples/ecosystem.json, shows it working, then stops it.
demo: build
	bash examples/demo.sh

# gpm, PM2 and supervisor side by side with the machine's floor, one table (bench/all.sh; < 10 min on 2 cores).
# The older, longer scripts stay for a closer look: bench/run.sh, bench/cluster.sh, bench/tree.sh, bench/logrotate.sh.
bench: build
	GPM_BIN=$(BIN) BENCH_CMD='make bench' bash bench/all.sh

# The D-Bus service's numbers (issue 10): ListProcesses against the socket's list, RSS with D-Bus on and off.
bench-dbus:
	bash bench/dbus.sh

# What gpm run (a container's PID 1) adds to an app's start-up and memory (docs/CONTAINERS.md).
bench-run-overhead:
	bash bench/run-overhead.sh

# The HTTP API's figures (issue 9): binary and RSS against main, /metrics with 100 apps, event stream lines/s.
bench-web:
	bash bench/web.sh

# dist/gpm_<version>_<arch>.deb and dist/gpm-<version>-1.<arch>.rpm (nfpm.yaml): the programs, the units in init/,
# the D-Bus policy, completions, the man page.
package:
	rm -rf dist && mkdir -p dist/pkg
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -tags gpmthin -trimpath -ldflags '-s -w -X main.version=$(PKG_VERSION) $(call thin_entry,linux/$(GOARCH))' -o dist/pkg/gpm ./cmd/gpm
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -tags gpmnoweb -trimpath -ldflags '-s -w -X main.version=$(PKG_VERSION)' -o dist/pkg/gpmd ./cmd/gpm
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '-s -w -X main.version=$(PKG_VERSION)' -o dist/pkg/gpmd-web ./cmd/gpm
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '-s -w' -o dist/pkg/gpm-monit ./cmd/gpm-monit
	gzip -9n <packaging/gpm.1 >dist/pkg/gpm.1.gz
	gzip -9n <packaging/changelog >dist/pkg/changelog.gz
	GOARCH=$(GOARCH) PKG_VERSION=$(PKG_VERSION) $(GO) run $(NFPM) package -p deb -f nfpm.yaml -t dist/
	GOARCH=$(GOARCH) PKG_VERSION=$(PKG_VERSION) $(GO) run $(NFPM) package -p rpm -f nfpm.yaml -t dist/
	@ls -l dist/*.deb dist/*.rpm

# The real-systemd end-to-end tests (e2e/systemd): each test binary runs as root inside a throw-away
# systemd-nspawn --boot container of a cached Debian rootfs, with dist/ (make package) mounted at /artifacts.
# Needs root, systemd-container, debootstrap and zstd (.ci/e2e-rootfs.sh installs them when missing).
e2e-systemd:
	@ls dist/*.deb >/dev/null 2>&1 || { echo "no dist/*.deb: run make package first"; exit 1; }
	E2E_ROOTFS=$$(.ci/e2e-rootfs.sh | tail -1) E2E_ARTIFACTS=$(CURDIR)/dist E2E_SRC=$(CURDIR) \
	  $(GO) test -tags e2e_systemd -count=1 -v -timeout 10m -exec $(CURDIR)/.ci/nspawn-exec.sh ./e2e/systemd/

clean:
	rm -rf bin dist .demo
