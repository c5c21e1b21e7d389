package cluster

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/agent"
)

// agentInstallTimeout bounds building, importing and rolling out the agent.
const agentInstallTimeout = 5 * time.Minute

// installAgent puts the chaostest agent (network faults, package agent) on the local cluster
// described by c. It is idempotent: the image is rebuilt from the Go build cache and tagged
// with its content hash, so an unchanged agent is left running as it is. A cluster without
// the real node has nowhere to run it; agent.InstallLocal serves the default configuration's
// node only, so a cluster on other paths or ports is left without it.
func installAgent(ctx context.Context, c Config, w io.Writer) error {
	if !c.Node {
		return nil
	}
	if d := DefaultConfig(); c.RunDir != d.RunDir || c.APIPort != d.APIPort {
		fmt.Fprintf(w, "cluster: agent not installed (it serves the default cluster's node only)\n")
		return nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return fmt.Errorf("installing the agent: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("installing the agent: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("installing the agent: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, agentInstallTimeout)
	defer cancel()
	start := time.Now()
	if err := agent.InstallLocal(ctx, cs, dyn, w); err != nil {
		return fmt.Errorf("installing the agent: %w", err)
	}
	fmt.Fprintf(w, "cluster: agent ready in %s\n", time.Since(start).Round(10*time.Millisecond))
	return nil
}
