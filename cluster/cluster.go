package cluster

import (
	"context"
	"io"

	local "github.com/chaostest/chaostest/internal/cluster"
)

// Config says where the local cluster lives and how it is wired: Version, CacheDir (built
// binaries, shared between clones), StateDir (certificates, etcd data, logs, kubeconfig),
// RunDir (sockets), the ports (APIPort 16444, EtcdPort, KubeletPort, KwokPort), the ranges
// (ServiceCIDR 10.97.0.0/16, PodCIDR 10.245.0.0/16), Bridge, NodeName, NodeIP and Node (run
// the real node). Start from [DefaultConfig] and change fields; every field is documented on
// the type this one aliases (`go doc github.com/chaostest/chaostest/internal/cluster.Config`).
// Its methods give the paths tests need, Kubeconfig first.
type Config = local.Config

// UpResult says what [Up] did: Reused (a healthy cluster was already running), Kubeconfig,
// and how long the control plane (APIReady) and the whole cluster (Ready) took to start.
type UpResult = local.UpResult

// Health is what [Status] found: Healthy, Problem (why not), Node (started with the real
// node), Processes (component → PID) and Kubeconfig; Print writes it for people.
type Health = local.ClusterStatus

// DefaultConfig returns the configuration `make cluster` uses: state in
// /var/tmp/chaostest/cluster (or $CHAOSTEST_CLUSTER_DIR), binaries cached in
// ${XDG_CACHE_HOME:-$HOME/.cache}/chaostest/k8s/<version>, the real node unless
// CHAOSTEST_CLUSTER_NO_NODE=1, NodeIP detected from the machine's first global IPv4 address.
func DefaultConfig() Config { return local.DefaultConfig() }

// Kubeconfig returns the path of the default local cluster's admin kubeconfig, the file
// `make cluster` tells you to export as KUBECONFIG. It exists once the cluster has started.
func Kubeconfig() string { return DefaultConfig().Kubeconfig() }

// Up starts the local cluster described by c, or reuses a healthy running one, and waits
// until it is ready: etcd, kube-apiserver, controller-manager, scheduler, kwok and, with
// c.Node, the real node (containerd, kubelet, kube-proxy). It builds what is not cached yet
// from the Go module proxy first (minutes, once per version). Then it installs the chaostest
// agent on the node (the DaemonSet that serves network faults, see package agent), which is
// quick when the agent has not changed. Progress goes to w (nil: silent). This is `make
// cluster`. A cluster started by Up runs until [Down].
func Up(ctx context.Context, c Config, w io.Writer) (UpResult, error) {
	w = orDiscard(w)
	res, err := local.Up(ctx, c, w)
	if err != nil {
		return res, err
	}
	return res, installAgent(ctx, c, w)
}

// Down stops the local cluster described by c and undoes every change it made to the machine
// (mounts, network namespaces, the bridge, routes, iptables chains, cgroups, sysctls); wipe
// also deletes its state directory. Stopping a cluster that does not run is not an error.
// This is `make down`.
func Down(ctx context.Context, c Config, w io.Writer, wipe bool) error {
	return local.Down(ctx, c, w, wipe)
}

// Status reports whether the local cluster described by c runs and is healthy (every
// component alive, the API server ready, the node Ready). It starts nothing.
func Status(ctx context.Context, c Config) Health { return local.Status(ctx, c) }

// LoadGoImage builds the Go main package pkg into an image tagged ref and imports it into the
// default local cluster's node, ready for pods that name ref with imagePullPolicy Never or
// IfNotPresent; nothing is pushed anywhere and no Docker is needed. pkg is an import path or
// a path relative to the current directory (under `go test`, the test's package directory).
// The image holds one static linux/amd64 binary at /<last element of pkg> as its entrypoint.
// Re-running it replaces the image.
//
//	if err := cluster.LoadGoImage(ctx, "./cmd/greeter", "greeter:dev"); err != nil { ... }
func LoadGoImage(ctx context.Context, pkg, ref string) error {
	return local.LoadGoImage(ctx, pkg, ref)
}

// BuildGoImage builds the Go main package pkg (relative to dir; "" is the current directory)
// into an image tagged ref, written as a docker-archive tarball to out: what [LoadGoImage]
// imports. Use it to load the same image into another cluster with that cluster's own tools
// (for example `kind load image-archive out`).
func BuildGoImage(ctx context.Context, dir, pkg, ref, out string) error {
	return local.BuildGoImage(ctx, dir, pkg, ref, out)
}
