# chaostest — see README.md. The cluster targets (setup, k8s, cluster, down) live in hack/cluster.mk.
GO      ?= go
PKGS    ?= ./...
export GOTOOLCHAIN ?= local

.PHONY: all build test unit fmt vet bench fuzz

all: build

build:
	$(GO) build -o bin/chaostest ./cmd/chaostest

fmt:
	gofmt -l -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags chaos $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Unit tests only: no cluster, no root needed.
unit:
	$(GO) test -race -count=1 $(PKGS)

# The whole suite, as CI runs it: vet, unit tests, then the chaos-tagged tests against a local
# real cluster (built and started when none is given through KUBECONFIG), always stopped after.
test: vet unit chaos

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

-include hack/cluster.mk
-include hack/demo.mk

# A few minutes of fuzzing of the experiment loader (JSON and YAML) and of the Python-dialect parsers.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./chaostest
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/pyyaml
	$(GO) test -run '^$$' -fuzz FuzzCompileFind -fuzztime 30s ./internal/jsonpath2
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime 30s ./internal/pyre
