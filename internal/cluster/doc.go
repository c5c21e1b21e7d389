// Package cluster builds, starts and stops the project's local real Kubernetes, and connects
// tests to it or to any other cluster named by KUBECONFIG.
//
// Nothing is downloaded except Go modules: kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet and kube-proxy are built from k8s.io/kubernetes through a scratch
// module, etcd from go.etcd.io/etcd/server/v3/embed and kwok from sigs.k8s.io/kwok, all with the
// Go module proxy, into a cache keyed by version (see [Config.CacheDir]). The real node uses
// containerd, runc, the CNI plugins and iptables from the distribution (hack/setup-host.sh).
//
// The three entry points most callers need:
//
//   - [Setup] and [Finish] are e2e-framework env.Funcs for a TestMain. With KUBECONFIG set they
//     start nothing and use that cluster (kind, a CI cluster, EKS); otherwise Setup makes sure the
//     local cluster runs (reusing a healthy one) and Finish stops it again if Setup started it.
//   - [LoadGoImage] builds an OCI image from a Go main package (static binary on an empty base)
//     and imports it into the local node's containerd, so manifests can use it with
//     imagePullPolicy Never or IfNotPresent.
//   - [AddFakeNodes] registers kwok-managed fake nodes for tests that need many nodes.
//
// [Up], [Down], [Status] and [Build] are what the localk8s command (make cluster, make down,
// make k8s) runs. Functions that print progress take an io.Writer; nil means silent.
//
// Network hygiene: the pod and service ranges ([Config.PodCIDR], [Config.ServiceCIDR]) are
// routed only to the node's bridge, or to "unreachable" while no node runs; a FORWARD rule drops
// anything leaving the bridge for another interface; ICMP redirects are switched off on the
// bridge so that a Service without endpoints is refused at once. Every sysctl changed is put
// back by Down.
package cluster
