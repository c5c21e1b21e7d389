package cluster

import (
	"context"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	local "github.com/chaostest/chaostest/internal/cluster"
)

// Setup returns an e2e-framework env.Func for a TestMain that gives the tests a cluster:
//
//   - when the envconf.Config already names a kubeconfig (e2e-framework's --kubeconfig flag)
//     or KUBECONFIG is set, that cluster is used (kind, a CI cluster, EKS, or the one `make
//     cluster` started) and nothing is started or installed;
//   - otherwise the local cluster is started with its real node, or a healthy running one
//     reused (see [Up]), the chaostest agent is installed on it (see [Up]), its kubeconfig is
//     put into the envconf.Config, and KUBECONFIG is set for the rest of the process, so code
//     that reads it (k8s.Connect, kubectl-like loading) finds the same cluster.
//
// Pair it with [Finish]:
//
//	func TestMain(m *testing.M) {
//		testenv := env.New()
//		testenv.Setup(cluster.Setup())
//		testenv.Finish(cluster.Finish())
//		os.Exit(testenv.Run(m))
//	}
//
// Progress of a build or start is printed to standard error.
func Setup() env.Func { return SetupWith(DefaultConfig(), os.Stderr) }

// Finish returns the env.Func that undoes [Setup]: it stops the local cluster only if a
// Setup started it and no other test process that used Setup is still running (several
// packages' test binaries run at once under `go test ./...`). A cluster started with `make
// cluster`, or given by KUBECONFIG, is never stopped.
func Finish() env.Func { return FinishWith(DefaultConfig(), os.Stderr) }

// SetupWith is [Setup] for the local cluster described by c, printing progress to w (nil:
// silent).
func SetupWith(c Config, w io.Writer) env.Func {
	w = orDiscard(w)
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		if cfg.KubeconfigFile() != "" {
			return ctx, nil
		}
		if kc := os.Getenv("KUBECONFIG"); kc != "" {
			cfg.WithKubeconfigFile(kc)
			return ctx, nil
		}
		kc, err := local.Acquire(ctx, c, w)
		if err != nil {
			return ctx, err
		}
		cfg.WithKubeconfigFile(kc)
		if err := os.Setenv("KUBECONFIG", kc); err != nil {
			return ctx, err
		}
		if err := installAgent(ctx, c, w); err != nil {
			return ctx, fmt.Errorf("cluster.Setup: %w", err)
		}
		return ctx, nil
	}
}

// FinishWith is [Finish] for the local cluster described by c, printing progress to w (nil:
// silent).
func FinishWith(c Config, w io.Writer) env.Func {
	w = orDiscard(w)
	return func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		return ctx, local.Release(ctx, c, w)
	}
}

// orDiscard lets callers pass a nil writer for "no progress output".
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
