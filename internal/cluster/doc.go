// Package cluster is the engine behind the public package
// github.com/chaostest/chaostest/cluster: it builds, starts and stops the project's local real
// Kubernetes. Test authors use the public package; this one also serves the project's own
// tools (cmd/localk8s, the agent's image build) and tests.
//
// Nothing is downloaded except Go modules: kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet and kube-proxy are built from k8s.io/kubernetes through a scratch
// module, etcd from go.etcd.io/etcd/server/v3/embed and kwok from sigs.k8s.io/kwok, all with the
// Go module proxy, into a cache keyed by version (see [Config.CacheDir]). The real node uses
// containerd, runc, the CNI plugins and iptables from the distribution (hack/setup-host.sh).
//
// What it offers besides Up and Down:
//
//   - [Acquire] and [Release] count the test processes that use the local cluster, so that the
//     last one stops a cluster that an Acquire started (the public Setup and Finish call them).
//   - [LoadGoImage] builds an OCI image from a Go main package (static binary on an empty base)
//     and imports it into the local node's containerd, so manifests can use it with
//     imagePullPolicy Never or IfNotPresent.
//   - [AddFakeNodes] registers kwok-managed fake nodes for tests that need many nodes.
//
// [Build] is what `make k8s` runs; the public package wraps [Up] (adding the agent's
// install), [Down] and [Status] for `make cluster`, `make down` and `make cluster-status`.
// Functions that print progress take an io.Writer; nil means silent.
//
// Network hygiene: the pod and service ranges ([Config.PodCIDR], [Config.ServiceCIDR]) are
// routed only to the node's bridge, or to "unreachable" while no node runs; a FORWARD rule drops
// anything leaving the bridge for another interface; ICMP redirects are switched off on the
// bridge so that a Service without endpoints is refused at once. Every sysctl changed is put
// back by Down.
package cluster
