// Package cluster gives Go tests a real Kubernetes cluster: the one KUBECONFIG names, or a
// local one that it builds and starts on this machine, with a real node that runs your images.
//
// # In a TestMain
//
// Most tests need two lines, both e2e-framework env.Funcs:
//
//	func TestMain(m *testing.M) {
//		testenv := env.New()
//		testenv.Setup(cluster.Setup())
//		testenv.Finish(cluster.Finish())
//		os.Exit(testenv.Run(m))
//	}
//
// With KUBECONFIG set (kind, a CI cluster, EKS, or the cluster `make cluster` started), Setup
// uses that cluster and starts nothing. Otherwise it starts the local cluster, or reuses a
// healthy one, exports KUBECONFIG for the rest of the test binary, and Finish stops the
// cluster again when Setup started it and no other test binary still uses it (`go test ./...`
// runs several at once). The first start builds Kubernetes from the Go module proxy (minutes,
// cached per version); later starts take seconds.
//
// The tests then connect as usual: providers/k8s's Connect, k8s.FromEnvConf with the
// envconf.Config e2e-framework passes to features, or client-go with KUBECONFIG.
//
// # One namespace per test
//
// k8s.Client.TestNamespace (package providers/k8s) gives each test a namespace of its own,
// deleted when the test ends, and a client whose activities act there by default, so that
// experiments in tests that call t.Parallel() do not see each other's pods:
//
//	kube := k8s.Connect(t).TestNamespace(t)
//	ct.Action("kill-one", kube.TerminatePods("app=web"))
//
// # Your images on the node
//
// [LoadGoImage] builds a Go main package into an image and imports it into the local node, so
// a Deployment can run it with imagePullPolicy Never. No Docker, no registry. For another
// cluster, [BuildGoImage] writes the same image as a tarball for that cluster's loader.
//
// # The agent
//
// When the local cluster starts ([Setup], [Up], `make cluster`) the chaostest agent is
// installed on its node: the DaemonSet that serves network faults (package agent,
// providers/chaosmesh). An unchanged agent is left as it runs, so a warm start stays quick.
// On another cluster install it with `chaostest agent install`.
//
// # What the local cluster is
//
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as processes on
// 127.0.0.1; kwok can add fake nodes; the real node runs containerd, runc, the CNI bridge
// plugin, kubelet and kube-proxy from the distribution's packages (hack/setup-host.sh installs
// them; the node needs root). Service ClusterIPs are reachable from the host, and nothing in the
// pod and service ranges leaves the machine. [Up], [Down] and [Status] are what `make cluster`,
// `make down` and `make cluster-status` run; [DefaultConfig] says where everything lives.
package cluster
