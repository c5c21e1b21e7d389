//go:build chaostest_k8s

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/agent"
)

const agentUsage = `usage: chaostest agent <install|uninstall|image> [options]

  install --image REF [--pull-policy P] [--namespace NS] [--api-server HOST:PORT]
            put the node agent (NetworkChaos CRD, RBAC, privileged DaemonSet) on the cluster
            KUBECONFIG names; --local builds the image into the local cluster's node instead
  uninstall [--namespace NS] [--remove-crd]
            remove it (each agent removes its faults as it stops)
  image --tag REF --out FILE
            build the agent's image as a docker-archive tarball, to push to your registry
`

// agentMain is `chaostest agent`: install the node agent that serves network faults.
func agentMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentUsage)
		return 2
	}
	fs := flag.NewFlagSet("agent "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	image := fs.String("image", "", "the agent's image (install)")
	pull := fs.String("pull-policy", "IfNotPresent", "the image pull policy (install)")
	ns := fs.String("namespace", agent.DefaultNamespace, "the agent's namespace")
	api := fs.String("api-server", "", "HOST:PORT of the API server as the nodes reach it (install; default: the kubernetes Service)")
	local := fs.Bool("local", false, "build the image into the local cluster's node and install it there (install)")
	removeCRD := fs.Bool("remove-crd", false, "also delete the NetworkChaos CRD chaostest installed, and every NetworkChaos (uninstall)")
	tag := fs.String("tag", agent.LocalImageRepo+":latest", "the image's reference (image)")
	out := fs.String("out", "chaostest-agent.tar", "the tarball to write (image)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if args[0] == "image" {
		if err := agent.BuildImage(ctx, *tag, *out); err != nil {
			fmt.Fprintf(stderr, "chaostest agent image: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, *tag)
		return 0
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		fmt.Fprintf(stderr, "chaostest agent: no Kubernetes configuration: %v\n", err)
		return 1
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest agent: %v\n", err)
		return 1
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		fmt.Fprintf(stderr, "chaostest agent: %v\n", err)
		return 1
	}
	switch args[0] {
	case "install":
		if *local {
			err = agent.InstallLocal(ctx, cs, dyn, stdout)
		} else {
			err = agent.Install(ctx, cs, dyn, agent.InstallOptions{Image: *image, PullPolicy: pullPolicy(*pull), Namespace: *ns, APIServer: *api, Out: stdout})
		}
	case "uninstall":
		err = agent.Uninstall(ctx, cs, dyn, agent.UninstallOptions{Namespace: *ns, RemoveCRD: *removeCRD})
	default:
		fmt.Fprintf(stderr, "chaostest agent: unknown command %q\n%s", args[0], agentUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaostest agent %s: %v\n", args[0], err)
		return 1
	}
	fmt.Fprintf(stdout, "agent %s: done\n", args[0])
	return 0
}

func pullPolicy(s string) corev1.PullPolicy { return corev1.PullPolicy(s) }
