package cluster_test

import (
	"context"
	"log"
	"os"
	"testing"

	"github.com/chaostest/chaostest/cluster"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// A TestMain that runs the package's tests against KUBECONFIG's cluster when set, and against
// the local real cluster otherwise (started if needed, stopped afterwards if it started it).
func ExampleSetup() {
	var m *testing.M // the *testing.M TestMain receives
	testenv := env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		// images the tests deploy, built from Go main packages and imported into the node
		return ctx, cluster.LoadGoImage(ctx, "./cmd/greeter", "greeter:dev")
	})
	testenv.Finish(cluster.Finish())
	os.Exit(testenv.Run(m))
}

// Starting and stopping the local cluster from Go, as `make cluster` and `make down` do.
func ExampleUp() {
	ctx := context.Background()
	c := cluster.DefaultConfig()
	if _, err := cluster.Up(ctx, c, os.Stdout); err != nil {
		log.Fatal(err)
	}
	defer cluster.Down(ctx, c, os.Stdout, false)
	log.Printf("export KUBECONFIG=%s", c.Kubeconfig())
}
