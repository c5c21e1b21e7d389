# Local real Kubernetes (package cluster and its engine internal/cluster, cmd/localk8s, hack/). Included by the top Makefile.
#   make setup    install the node's Debian packages when missing (containerd, runc, CNI, iptables)
#   make k8s      build the cluster's binaries from the Go module proxy (cached per version)
#   make cluster  start the cluster, or reuse a healthy one, and install the agent; last line: export KUBECONFIG=...
#   make down     stop it and undo every host change (DOWNFLAGS=-wipe also deletes its state)
#   make chaos    chaos-tagged tests against $$KUBECONFIG, or against a local cluster started here
GO       ?= go
LOCALK8S ?= bin/localk8s

.PHONY: setup k8s cluster down chaos localk8s cluster-status

localk8s:
	@$(GO) build -o $(LOCALK8S) ./cmd/localk8s

setup:
	@hack/setup-host.sh

k8s: localk8s
	@$(LOCALK8S) build

cluster: setup k8s
	@$(LOCALK8S) up

down: localk8s
	@$(LOCALK8S) down $(DOWNFLAGS)

cluster-status: localk8s
	@$(LOCALK8S) status

chaos: localk8s
	@GO="$(GO)" PKGS="$(PKGS)" LOCALK8S="$(LOCALK8S)" hack/chaos.sh
