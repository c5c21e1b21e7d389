//go:build chaostest_k8s

package main

// Built with -tags chaostest_k8s, this package is chaostest-k8s, the Kubernetes helper: the whole
// CLI with the Kubernetes providers linked in, `chaostest agent`, `run --in-cluster`, `image`,
// `in-pod`, and `serve`, which answers the light CLI's calls (internal/remote). make build
// builds both; hack/k8scompare runs experiments with both and checks that their logs, journals
// and exit codes are the same.

import (
	"fmt"
	"io"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/remote"
	_ "github.com/chaostest/chaostest/providers/chaosmesh" // chaosk8s.chaosmesh.network.*
	_ "github.com/chaostest/chaostest/providers/k8s"       // chaosk8s.*
)

// serveMain is `chaostest-k8s serve`: it answers the light CLI's calls on stdin and stdout
// until stdin closes.
func serveMain(stdin io.Reader, stdout, stderr io.Writer) int {
	if err := remote.Serve(stdin, stdout, engine.Version); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
