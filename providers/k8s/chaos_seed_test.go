//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/jsonvalue"
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

	j := chaostest.RunFile(t, path).Journal
	require.NotNil(t, j)
	assert.Equal(t, "completed", j.Status)
	assert.False(t, j.Deviated)
	require.Len(t, j.Run, 2)
	assert.Len(t, j.Run[0].Output, 1, "terminate_pods deleted the greeter pod")
	logs, ok := j.Run[1].Output.(*jsonvalue.Object)
	require.True(t, ok, "read_pod_logs output: %#v", j.Run[1].Output)
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, l.Items[0].Name, logs.Keys()[0])
	assert.Contains(t, logs.Value(l.Items[0].Name), "GET / ", "the webapp's log holds the http probe's request")
	for _, n := range []string{"chaosk8s.pod.probes.pods_in_phase", "chaosk8s.pod.actions.terminate_pods", "chaosk8s.pod.probes.read_pod_logs"} {
		cover(t, n)
	}
}

// TestCorpusKillPodsExperimentRunsUnchanged runs corpus 08 as published: its configuration
// comes from the environment (POD_LABEL, POD_NAMESPACE, APPLICATION_ENTRYPOINT_URL), pointed at
// a three-replica podserver deployment behind a ClusterIP Service.
func TestCorpusKillPodsExperimentRunsUnchanged(t *testing.T) {
	ns := namespace(t)
	mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, "kill.json", deploymentManifest("kill", 3)), "ns": ns})
	svc := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "kill"},
		"spec": map[string]any{"selector": map[string]any{"app": "kill"}, "ports": []any{map[string]any{"port": 80, "targetPort": 8080}}}}
	mustCall(t, "chaosk8s.service.actions.create_service_endpoint", map[string]any{"spec_path": writeSpec(t, "svc.json", svc), "ns": ns})
	require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, "kill"), 2*time.Minute))
	s, err := kube.cs.CoreV1().Services(ns).Get(context.Background(), "kill", metav1.GetOptions{})
	require.NoError(t, err)
	url := fmt.Sprintf("http://%s/", s.Spec.ClusterIP)
	// kube-proxy programs the Service a moment after its endpoints are ready: wait (bounded)
	// until it answers, as the experiment's first probe has a 0.5 s timeout and no retry
	client := &http.Client{Timeout: time.Second}
	answered := false
	for i := 0; i < 60 && !answered; i++ {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			answered = resp.StatusCode == 200
		}
		if !answered {
			time.Sleep(250 * time.Millisecond)
		}
	}
	require.True(t, answered, "service %s never answered", url)
	t.Setenv("APPLICATION_ENTRYPOINT_URL", url)
	t.Setenv("POD_LABEL", "app=kill")
	t.Setenv("POD_NAMESPACE", ns)

	j := chaostest.RunFile(t, "../../testdata/corpus/08-playground-k8s-kill-pods.json").Journal
	require.NotNil(t, j)
	assert.Equal(t, "completed", j.Status)
	require.Len(t, j.Run, 1)
	assert.Len(t, j.Run[0].Output, 2, "qty 2: two pods terminated")
	cover(t, "chaosk8s.pod.actions.terminate_pods")
}
