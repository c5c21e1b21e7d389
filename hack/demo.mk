# `make demo` — the greeter example end to end (examples/greeter). Included by the top Makefile.
#   1. make cluster: install the node's packages if missing, build Kubernetes from the Go module
#      proxy if not cached (a cold build takes minutes; later runs reuse the cache), start the
#      local cluster or reuse a healthy one;
#   2. build the CLI and its Kubernetes helper (make build: bin/chaostest, bin/chaostest-k8s) and
#      the demo program, then run it: it builds and loads the example's images, deploys
#      the example, runs the chapter's experiment against the fragile then the resilient webapp,
#      and writes $(DEMO_OUT)/<mode>/journal.json and report.html.
# The cluster keeps running afterwards; `make down` stops it.
GO       ?= go
LOCALK8S ?= bin/localk8s
DEMO_OUT ?= out/demo

.PHONY: demo

demo: cluster build
	@echo "demo: building the demo program (examples/greeter/cmd/demo)"
	@$(GO) build -o bin/greeter-demo ./examples/greeter/cmd/demo
	@KUBECONFIG="$$($(LOCALK8S) kubeconfig)" bin/greeter-demo -out $(DEMO_OUT) $(DEMO_FLAGS)
