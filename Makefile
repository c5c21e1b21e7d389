# chaostest — see README.md. The cluster targets (setup, k8s, cluster, down) live in hack/cluster.mk.
GO      ?= go
PKGS    ?= ./...
export GOTOOLCHAIN ?= local

.PHONY: all build test unit fmt vet bench fuzz python browser

all: build

# The CLI and its Kubernetes helper, side by side: chaostest starts bin/chaostest-k8s (the same
# command built with the Kubernetes providers, run --in-cluster, image and agent) only when an
# experiment or a command needs Kubernetes, so that it starts in milliseconds otherwise.
build:
	CGO_ENABLED=0 $(GO) build -o bin/chaostest ./cmd/chaostest
	CGO_ENABLED=0 $(GO) build -tags chaostest_k8s -o bin/chaostest-k8s ./cmd/chaostest

fmt:
	gofmt -l -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags chaos $(PKGS)
	$(GO) vet -tags chaostest_k8s ./cmd/chaostest
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Unit tests only: no cluster, no root needed (except to install Debian's python3 and chromium when
# missing: the Python-provider tests and the report's real-browser test use them; chaostest itself
# needs neither).
unit: python browser
	$(GO) test -race -count=1 $(PKGS)
	$(GO) test -race -count=1 -tags chaostest_k8s -run 'InCluster|Loopback' ./cmd/chaostest

python:
	@bash hack/setup-python.sh

browser:
	@bash hack/setup-chromium.sh

# The whole suite, as CI runs it: vet, unit tests, then the chaos-tagged tests against a local
# real cluster (built and started when none is given through KUBECONFIG), always stopped after.
test: vet unit chaos

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

-include hack/cluster.mk
-include hack/demo.mk

# A few minutes of fuzzing of the experiment loader (JSON and YAML) and of the Python-dialect parsers.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./engine
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/pyyaml
	$(GO) test -run '^$$' -fuzz FuzzCompileFind -fuzztime 30s ./internal/jsonpath2
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime 30s ./internal/pyre
