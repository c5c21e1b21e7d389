//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	_ "github.com/chaostest/chaostest/providers/http"
)

// TestSeedExperimentRunsAgainstAMatchingDeployment runs the seed chapter's experiment (corpus
// 15: pods_in_phase, an http probe, terminate_pods, read_pod_logs) against podserver
// deployments labelled as it expects. Only "ns": "default" is rewritten to the test's own
// namespace; everything else is the file as published.
func TestSeedExperimentRunsAgainstAMatchingDeployment(t *testing.T) {
	ns := namespace(t)
	for _, app := range []string{"webapp-pod", "greeter-pod"} {
		mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, app+".json", deploymentManifest(app, 1)), "ns": ns})
	}
	for _, app := range []string{"webapp-pod", "greeter-pod"} {
		require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, app), 2*time.Minute))
	}
	l, err := kube.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=webapp-pod"})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	t.Setenv("WEBAPP_URL", fmt.Sprintf("http://%s:8080/", l.Items[0].Status.PodIP))

	data, err := os.ReadFile("../../testdata/corpus/15-aws-workshop-greeter-webapp.json")
	require.NoError(t, err)
	text := strings.ReplaceAll(string(data), `"ns": "default"`, fmt.Sprintf(`"ns": %q`, ns))
	require.NotEqual(t, string(data), text)
	path := filepath.Join(t.TempDir(), "experiment.json")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))

	j := chaostest.RunFile(t, path)
	require.NotNil(t, j)
	assert.Equal(t, "completed", j.Status)
	assert.False(t, j.Deviated)
	require.Len(t, j.Run, 2)
	assert.Len(t, j.Run[0].Output, 1, "terminate_pods deleted the greeter pod")
	logs, ok := j.Run[1].Output.(*journal.Object)
	require.True(t, ok, "read_pod_logs output: %#v", j.Run[1].Output)
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, l.Items[0].Name, logs.Keys()[0])
	assert.Contains(t, logs.Value(l.Items[0].Name), "GET / ", "the webapp's log holds the http probe's request")
	for _, n := range []string{"chaosk8s.pod.probes.pods_in_phase", "chaosk8s.pod.actions.terminate_pods", "chaosk8s.pod.probes.read_pod_logs"} {
		cover(t, n)
	}
}
