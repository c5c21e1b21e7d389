//go:build chaos

package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/chaostest/chaostest/agent"
	local "github.com/chaostest/chaostest/internal/cluster"
)

// These tests run against the local cluster only (they check what starting it does); with
// KUBECONFIG naming another cluster they have nothing to check.
func TestMain(m *testing.M) {
	if kc := os.Getenv("KUBECONFIG"); kc != "" && !sameFile(kc, Kubeconfig()) {
		fmt.Printf("cluster: these tests check the local cluster, but KUBECONFIG names another (%s); nothing to test\n", kc)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// agentImage returns the image the agent DaemonSet runs, once it is ready.
func agentImage(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ds, err := cs.AppsV1().DaemonSets(agent.DefaultNamespace).Get(t.Context(), agent.DaemonSetName, metav1.GetOptions{})
	require.NoError(t, err, "the agent's DaemonSet must exist after the cluster started")
	s := ds.Status
	assert.Equal(t, ds.Generation, s.ObservedGeneration)
	assert.Positive(t, s.DesiredNumberScheduled)
	assert.Equal(t, s.DesiredNumberScheduled, s.NumberReady, "every agent pod ready")
	return ds.Spec.Template.Spec.Containers[0].Image
}

// wantAgentImage is the tag InstallLocal gives the current agent.
func wantAgentImage(t *testing.T) string {
	dir, err := local.ModuleDir(t.Context(), "", "github.com/chaostest/chaostest")
	require.NoError(t, err)
	sum, err := local.GoBuildID(t.Context(), dir, agent.AgentPackage)
	require.NoError(t, err)
	return agent.LocalImageRepo + ":" + sum
}

func TestUpInstallsTheAgentAndAWarmStartStaysQuick(t *testing.T) {
	c := DefaultConfig()
	if !c.Node {
		t.Skip("the agent needs the real node (CHAOSTEST_CLUSTER_NO_NODE=1)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	res, err := Up(ctx, c, nil) // may build the agent's image if it changed
	require.NoError(t, err)
	rc, err := clientcmd.BuildConfigFromFlags("", res.Kubeconfig)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	assert.Equal(t, wantAgentImage(t), agentImage(t, cs))

	start := time.Now()
	res, err = Up(ctx, c, nil)
	took := time.Since(start)
	require.NoError(t, err)
	assert.True(t, res.Reused, "a healthy cluster is reused")
	assert.Equal(t, wantAgentImage(t), agentImage(t, cs))
	// ~1.5 s on an idle machine; generous for a loaded one, but far from a rebuild and rollout
	assert.Less(t, took, 10*time.Second, "a warm start with an unchanged agent")
	t.Logf("warm Up with the agent already installed: %s", took.Round(time.Millisecond))
}

func TestSetupWithoutKubeconfigGivesTheLocalClusterWithTheAgent(t *testing.T) {
	c := DefaultConfig()
	if !c.Node {
		t.Skip("the agent needs the real node (CHAOSTEST_CLUSTER_NO_NODE=1)")
	}
	t.Setenv("KUBECONFIG", "")
	require.NoError(t, os.Unsetenv("KUBECONFIG"))
	// Finish stops a cluster that a Setup started once its last user is gone; the shared
	// cluster may be one, so this test registers as a user and leaves the lease to die with
	// the process rather than risk stopping it under other test binaries.
	_, startedBySetup := os.Stat(filepath.Join(c.StateDir, "started-by-setup"))
	cfg := envconf.New()
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	_, err := SetupWith(c, nil)(ctx, cfg)
	require.NoError(t, err)
	if startedBySetup != nil {
		t.Cleanup(func() { _, _ = FinishWith(c, nil)(context.Background(), cfg) })
	}
	assert.Equal(t, c.Kubeconfig(), cfg.KubeconfigFile())
	assert.Equal(t, c.Kubeconfig(), os.Getenv("KUBECONFIG"), "Setup exports KUBECONFIG for the rest of the process")
	kc, err := cfg.NewClient()
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(kc.RESTConfig())
	require.NoError(t, err)
	assert.Equal(t, wantAgentImage(t), agentImage(t, cs))
}
