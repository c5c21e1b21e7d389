//go:build chaos

package k8s

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/jsonvalue"
)

// deploymentManifest is a Deployment of podserver on the real node.
func deploymentManifest(name string, replicas int, extraEnv ...map[string]any) map[string]any {
	env := []any{}
	for _, e := range extraEnv {
		env = append(env, e)
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name, "labels": map[string]any{"app": name}},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name, "name": name}},
				"spec": map[string]any{
					"terminationGracePeriodSeconds": 1,
					"containers": []any{map[string]any{
						"name": "main", "image": podImage, "imagePullPolicy": "Never",
						"command": []any{"/podserver"}, "env": env,
						"ports":          []any{map[string]any{"containerPort": 8080}},
						"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/", "port": 8080}, "periodSeconds": 1},
					}},
				},
			},
		},
	}
}

// writeSpec writes a manifest as JSON (or YAML when the name ends so) into a temp file.
func writeSpec(t *testing.T, name string, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644)) // JSON is valid YAML too
	return p
}

// startWeb creates a podserver deployment through create_deployment and waits for it with
// deployment_fully_available (both exercised here).
func startWeb(t *testing.T, ns, name string, replicas int) {
	t.Helper()
	mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, name+".json", deploymentManifest(name, replicas)), "ns": ns})
	out := mustCall(t, "chaosk8s.deployment.probes.deployment_fully_available", map[string]any{"name": name, "ns": ns, "timeout": 120})
	require.Equal(t, true, out)
}

func TestPodProbesOnRealPods(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 2)
	sel := "app=web"

	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": sel, "ns": ns}))
	_, err := kcall(t, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": sel, "ns": ns, "phase": "Pending"})
	assert.EqualError(t, err, "pod 'app=web' is in phase 'Running' but should be 'Pending'")
	_, err = kcall(t, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=none", "ns": ns})
	assert.EqualError(t, err, "no pods 'app=none' were found")
	assert.Equal(t, false, mustCall(t, "chaosk8s.pod.probes.pods_not_in_phase", map[string]any{"label_selector": sel, "ns": ns, "raise_on_in_phase": false}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.pods_not_in_phase", map[string]any{"label_selector": sel, "ns": ns, "phase": "Failed"}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.pods_in_conditions", map[string]any{"label_selector": sel, "ns": ns,
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}))
	_, err = kcall(t, "chaosk8s.pod.probes.pods_in_conditions", map[string]any{"label_selector": sel, "ns": ns,
		"conditions": []any{map[string]any{"type": "Ready", "status": "False"}}})
	assert.ErrorContains(t, err, "does not match the following given condition: {'type': 'Ready', 'status': 'False'}")
	assert.Equal(t, int64(2), mustCall(t, "chaosk8s.pod.probes.count_pods", map[string]any{"label_selector": sel, "ns": ns, "phase": "Running"}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.count_min_pods", map[string]any{"label_selector": sel, "ns": ns}))
	assert.Equal(t, false, mustCall(t, "chaosk8s.pod.probes.count_min_pods", map[string]any{"label_selector": sel, "ns": ns, "min_count": 3}))
	_, err = kcall(t, "chaosk8s.pod.probes.pod_is_not_available", map[string]any{"name": "web", "ns": ns})
	assert.EqualError(t, err, "pod 'web' is actually running")
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.pod_is_not_available", map[string]any{"name": "nothing", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.microservice_is_not_available", map[string]any{"name": "nothing", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.all_pods_healthy", map[string]any{"ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.all_microservices_healthy", map[string]any{"ns": ns}))

	// logs: the default selector template "name in ({name})", last, container_name
	logs := mustCall(t, "chaosk8s.pod.probes.read_pod_logs", map[string]any{"name": "web", "ns": ns, "last": "10 minutes", "container_name": "main"})
	m := logs.(map[string]any)
	require.Len(t, m, 2)
	for pod, l := range m {
		assert.Contains(t, l, "podserver "+pod+" started", "timestamps are on: lines start with an RFC 3339 time")
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT`, l)
	}
	legacy := mustCall(t, "chaosk8s.probes.read_microservices_logs", map[string]any{"label_selector": sel, "ns": ns})
	assert.Len(t, legacy, 2)
	// last="1s" returns only the most recent ticks, never the start line: wait (bounded) until
	// the pods have logged for a few seconds
	for i := 0; i < 40; i++ {
		all := mustCall(t, "chaosk8s.pod.probes.read_pod_logs", map[string]any{"label_selector": sel, "ns": ns}).(map[string]any)
		ready := true
		for _, l := range all {
			ready = ready && strings.Contains(l.(string), "tick 3\n")
		}
		if ready {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	recent := mustCall(t, "chaosk8s.pod.probes.read_pod_logs", map[string]any{"label_selector": sel, "ns": ns, "last": "1s"}).(map[string]any)
	for _, l := range recent {
		assert.NotContains(t, l, "started")
	}
	strs := map[string]any{}
	for k, v := range m {
		strs[k] = v
	}
	assert.Equal(t, true, mustCall(t, "chaosk8s.pod.probes.should_be_found_in_logs", map[string]any{"pattern": "started on :8080", "value": strs}))
	assert.Equal(t, false, mustCall(t, "chaosk8s.pod.probes.should_be_found_in_logs", map[string]any{"pattern": "never printed", "value": strs}))
}

func TestReadPodLogsFromPrevious(t *testing.T) {
	ns := namespace(t)
	d := deploymentManifest("crashy", 1, map[string]any{"name": "EXIT_AFTER", "value": "1s"})
	d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["readinessProbe"] = nil
	mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, "crashy.yaml", d), "ns": ns})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ok, err := waitUntil(ctx, podsSource(kube, ns), metav1.ListOptions{LabelSelector: "app=crashy"}, func(objs []runtime.Object) bool {
		for _, o := range objs {
			for _, cs := range o.(*corev1.Pod).Status.ContainerStatuses {
				if cs.RestartCount >= 1 {
					return true
				}
			}
		}
		return false
	})
	require.NoError(t, err)
	require.True(t, ok, "the container did not restart")
	logs := mustCall(t, "chaosk8s.pod.probes.read_pod_logs", map[string]any{"label_selector": "app=crashy", "ns": ns, "from_previous": true}).(map[string]any)
	require.Len(t, logs, 1)
	for _, l := range logs {
		assert.Contains(t, l, "podserver exiting as asked")
	}
}

func TestExecInPods(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 1)
	out := mustCall(t, "chaosk8s.pod.actions.exec_in_pods", map[string]any{"cmd": "/podserver echo 'hello  world'", "label_selector": "app=web", "ns": ns, "container_name": "main"}).([]any)
	require.Len(t, out, 1)
	r := out[0].(map[string]any)
	assert.Equal(t, int64(0), r["exit_code"])
	assert.Equal(t, "hello  world\n", r["stdout"])
	assert.Equal(t, "", r["stderr"])
	assert.Equal(t, "/podserver echo 'hello  world'", r["cmd"])

	out = mustCall(t, "chaosk8s.pod.actions.exec_in_pods", map[string]any{"cmd": []any{"/podserver", "exit", "3"}, "label_selector": "app=web", "ns": ns, "container_name": "main"}).([]any)
	r = out[0].(map[string]any)
	assert.Equal(t, "3", r["exit_code"], "upstream reports the status cause's message: a string")
	assert.Equal(t, "bye\n", r["stdout"])
	assert.Contains(t, r["stderr"], "exit code 3")

	none := mustCall(t, "chaosk8s.pod.actions.exec_in_pods", map[string]any{"cmd": "/podserver echo x", "label_selector": "app=web", "ns": ns})
	assert.Empty(t, none, "no container_name: every pod is skipped, as upstream")
}

func TestTerminatePodsAndRecovery(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 3)
	before := podNamesIn(t, ns, "app=web")

	_, err := kcall(t, "chaosk8s.pod.actions.terminate_pods", map[string]any{"ns": ns})
	assert.ErrorContains(t, err, "refusing to select every pod")

	out := mustCall(t, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": ns, "name_pattern": "^web-", "order": "oldest", "grace_period": 0})
	require.Len(t, out, 1)
	assert.Contains(t, before, out.([]any)[0])

	require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, "web"), 90*time.Second))
	out = mustCall(t, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": ns, "mode": "percentage", "qty": 1, "rand": true})
	assert.Len(t, out, 1, "1% of 3 pods rounds up to one")
	out = mustCall(t, "chaosk8s.pod.actions.delete_pods", map[string]any{"name": "web", "ns": ns})
	assert.Len(t, out, 1)
	out = mustCall(t, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=nothing", "ns": ns})
	assert.Equal(t, []any{}, out)

	require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, "web"), 90*time.Second))
}

func podNamesIn(t *testing.T, ns, sel string) []any {
	l, err := kube.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	var out []any
	for _, p := range l.Items {
		out = append(out, p.Name)
	}
	return out
}

// TestExperimentTerminateAndRecover runs a whole experiment through chaostest with the Go
// constructors: the journal shows the chaosk8s calls, and the recovery probe records how long
// the deployment took to be whole again after terminate_pods.
func TestExperimentTerminateAndRecover(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 2)
	ct := chaostest.New(t, chaostest.Title("Losing a web pod is repaired within a minute"))
	ct.SteadyState("web pods run",
		kube.PodsInPhase("app=web", corev1.PodRunning, In(ns)).Named("web-running").Want(true),
		kube.WaitFor(PodsRunning(ns, "app=web").AtLeast(2), 90*time.Second).Named("web-ready").Want(true),
	)
	ct.Action("terminate-one-web-pod", kube.TerminatePods("app=web", In(ns), Qty(1), GracePeriod(0)))
	ct.Probe("web-recovery-time", kube.RecoveryTime(PodsRunning(ns, "app=web").AtLeast(2), 90*time.Second))
	ct.Probe("web-fully-available", kube.DeploymentFullyAvailable("web", 60*time.Second, In(ns)))
	j := ct.Run().Journal
	require.NotNil(t, j)
	assert.Equal(t, "completed", j.Status)
	assert.False(t, j.Deviated)
	require.Len(t, j.Run, 3)
	prov := j.Run[0].Activity.Value("provider").(*jsonvalue.Object)
	assert.Equal(t, "chaosk8s.pod.actions", prov.Value("module"))
	assert.Equal(t, "terminate_pods", prov.Value("func"))
	assert.Len(t, j.Run[0].Output, 1)
	rec, ok := j.Run[1].Output.(*jsonvalue.Object)
	require.True(t, ok, "recovery output: %#v", j.Run[1].Output)
	secs, _ := rec.Value("seconds").(float64)
	assert.Greater(t, secs, 0.0)
	assert.Less(t, secs, 90.0)
	t.Logf("web recovered %.2fs after terminate_pods", secs)
	assert.Equal(t, true, j.Run[2].Output)
	cover(t, "chaosk8s.pod.actions.terminate_pods")
}

var _ = strings.TrimSpace
