// Command localk8s builds, starts and stops the project's local real Kubernetes (see package
// cluster; `up` also installs the chaostest agent on the node). The Makefile's setup, k8s,
// cluster, down and chaos targets call it.
//
//	localk8s build                  build what is not cached yet (prints what it builds)
//	localk8s up [-no-node]          start the cluster, or reuse a healthy one, and install the
//	                                agent; the last line printed is "export KUBECONFIG=<path>"
//	localk8s down [-wipe]           stop it and undo every host change (-wipe: delete its state)
//	localk8s status                 exit 0 when the cluster is up and healthy
//	localk8s kubeconfig             print the kubeconfig path
//	localk8s reachable              exit 0 when the cluster named by $KUBECONFIG answers
//	localk8s load-image PKG REF     build Go main package PKG into image REF and import it
//	localk8s fake-nodes N [PREFIX]  add N kwok fake nodes (default prefix "kwok-node")
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/chaostest/chaostest/cluster"
	local "github.com/chaostest/chaostest/internal/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: localk8s <command> [flags]

commands:
  build                  build the cluster's binaries not cached yet
  up [-no-node]          start the local cluster (or reuse a healthy one), install the agent
  down [-wipe]           stop it and undo host changes; -wipe also deletes its state
  status                 print the cluster's state; exit 1 unless healthy
  kubeconfig             print the admin kubeconfig path
  reachable              exit 0 when the cluster named by $KUBECONFIG answers
  load-image PKG REF     build Go main package PKG into image REF and import it into the node
  fake-nodes N [PREFIX]  register N kwok fake nodes named PREFIX-<i> (default kwok-node)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	c := cluster.DefaultConfig()
	fs := flag.NewFlagSet("localk8s "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	noNode := fs.Bool("no-node", !c.Node, "up: control plane and kwok only, no real node")
	wipe := fs.Bool("wipe", false, "down: also delete the state directory (certificates, etcd data, images)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	rest := fs.Args()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "localk8s %s: %v\n", args[0], err)
		return 1
	}
	switch args[0] {
	case "build":
		if err := local.Build(ctx, c, stdout); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "all binaries cached in %s\n", c.CacheDir)
	case "up":
		c.Node = !*noNode
		if _, err := cluster.Up(ctx, c, stdout); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", c.Kubeconfig())
	case "down":
		if err := cluster.Down(ctx, c, stdout, *wipe); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "cluster stopped")
	case "status":
		st := cluster.Status(ctx, c)
		st.Print(stdout)
		if !st.Healthy {
			return 1
		}
	case "kubeconfig":
		fmt.Fprintln(stdout, c.Kubeconfig())
	case "reachable":
		v, err := local.Reachable(ctx, 5*time.Second)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "cluster in KUBECONFIG answers: Kubernetes %s\n", v)
	case "load-image":
		if len(rest) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		if err := local.LoadGoImageWith(ctx, c, rest[0], rest[1]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "loaded %s from %s\n", rest[1], rest[0])
	case "fake-nodes":
		if len(rest) < 1 || len(rest) > 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 1 {
			return fail(fmt.Errorf("want a positive node count, got %q", rest[0]))
		}
		prefix := "kwok-node"
		if len(rest) == 2 {
			prefix = rest[1]
		}
		cs, err := c.Clientset()
		if err != nil {
			return fail(err)
		}
		names, err := local.AddFakeNodes(ctx, cs, prefix, n)
		if err != nil {
			return fail(err)
		}
		for _, name := range names {
			fmt.Fprintln(stdout, name)
		}
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	return 0
}
