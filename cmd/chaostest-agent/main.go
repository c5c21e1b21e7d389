// Command chaostest-agent is chaostest's node agent (package agent/node): run by the DaemonSet that
// `chaostest agent install` (or agent.Install) creates, privileged, with the host's network
// and PID namespaces. It serves the Chaos Mesh NetworkChaos and StressChaos kinds for the pods
// of its node (NODE_NAME) and removes its faults when it stops (SIGTERM).
//
// Its stressors are this binary itself, run as `chaostest-agent stress ...` (a hidden
// subcommand, package agent/stress) and moved into the target containers' cgroups, found below
// CGROUP_ROOT (the host's /sys/fs/cgroup, mounted there by the DaemonSet).
//
// It reaches the API with the pod's service account, or with -kubeconfig (for running it by
// hand on a node).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/agent/node"
	"github.com/chaostest/chaostest/agent/stress"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == stress.Subcommand {
		os.Exit(stress.Main(os.Args[2:]))
	}
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: the in-cluster service account)")
	node := flag.String("node", os.Getenv("NODE_NAME"), "the node to act on (default $NODE_NAME)")
	ns := flag.String("namespace", os.Getenv("POD_NAMESPACE"), "the agent's own namespace, protected (default $POD_NAMESPACE)")
	cgroupRoot := flag.String("cgroup-root", os.Getenv("CGROUP_ROOT"), "where the host's cgroup hierarchies are mounted (default $CGROUP_ROOT, else /sys/fs/cgroup)")
	flag.Parse()
	logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	if err := run(*kubeconfig, *node, *ns, *cgroupRoot, logger); err != nil {
		logger.Printf("chaostest-agent: %v", err)
		os.Exit(1)
	}
}

func run(kubeconfig, nodeName, ns, cgroupRoot string, logger *log.Logger) error {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return fmt.Errorf("kubernetes configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	a, err := node.New(node.Config{Pods: cs, Dynamic: dyn, NodeName: nodeName, Namespace: ns, Logf: logger.Printf})
	if err != nil {
		return err
	}
	runner, err := node.NewStressRunner("", cgroupRoot, "")
	if err != nil {
		return err
	}
	sa, err := node.NewStressAgent(node.StressConfig{Pods: cs, Dynamic: dyn, NodeName: nodeName, Namespace: ns, Runner: runner, Logf: logger.Printf})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Both controllers run until the signal; each removes its faults as it returns.
	errc := make(chan error, 1)
	go func() { errc <- sa.Run(ctx) }()
	err = a.Run(ctx)
	if serr := <-errc; err == nil {
		err = serr
	}
	return err
}
