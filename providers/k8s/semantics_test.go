package k8s

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/chaostest/chaostest/provider"
)

// These tests exercise argument decoding, raise/false decisions, messages and safety rules
// through the registry with client-go's fake clientset: pure logic only. The same functions
// run against the real cluster in the chaos-tagged tests.

func fakePod(ns, name, app string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app, "name": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func fakeClient(objs ...runtime.Object) *Client {
	return newClient(fake.NewClientset(objs...), nil, nil)
}

func run(t *testing.T, c *Client, name string, args map[string]any) (any, error) {
	t.Helper()
	return runEnv(t, c, provider.Env{}, name, args)
}

func runEnv(t *testing.T, c *Client, env provider.Env, name string, args map[string]any) (any, error) {
	t.Helper()
	f, ok := provider.LookupFunc(name)
	require.True(t, ok, name)
	return f.Call(withClient(context.Background(), c), env, args)
}

func TestPodsInPhaseRaisesOrReturnsFalse(t *testing.T) {
	c := fakeClient(fakePod("default", "web-1", "web", corev1.PodRunning), fakePod("default", "web-2", "web", corev1.PodPending))
	_, err := run(t, c, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=web"})
	assert.EqualError(t, err, "pod 'app=web' is in phase 'Pending' but should be 'Running'")
	out, err := run(t, c, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=web", "raise_on_invalid_phase": false})
	require.NoError(t, err)
	assert.Equal(t, false, out)

	_, err = run(t, c, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=none"})
	assert.EqualError(t, err, "no pods 'app=none' were found")

	out, err = run(t, c, "chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=web", "phase": "Pending", "raise_on_invalid_phase": false})
	require.NoError(t, err)
	assert.Equal(t, false, out, "true only when all pods are in the phase")

	_, err = run(t, c, "chaosk8s.pod.probes.pods_not_in_phase", map[string]any{"label_selector": "app=web"})
	assert.EqualError(t, err, "pod 'app=web' should not be in phase 'Running'")
}

func TestCountPodsAndMissingRequiredArgument(t *testing.T) {
	c := fakeClient(fakePod("default", "a", "web", corev1.PodRunning), fakePod("default", "b", "web", corev1.PodFailed), fakePod("other", "c", "web", corev1.PodRunning))
	out, err := run(t, c, "chaosk8s.pod.probes.count_pods", map[string]any{"label_selector": "app=web"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), out)
	out, err = run(t, c, "chaosk8s.pod.probes.count_pods", map[string]any{"label_selector": "app=web", "phase": "Running"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), out)
	out, err = run(t, c, "chaosk8s.pod.probes.count_min_pods", map[string]any{"label_selector": "app=web"})
	require.NoError(t, err)
	assert.Equal(t, false, out, "min_count defaults to 2 Running")
	_, err = run(t, c, "chaosk8s.pod.probes.count_pods", map[string]any{})
	assert.EqualError(t, err, "required argument 'label_selector' is missing from activity 'count_pods'")
}

func TestPodIsNotAvailableFillsItsSelectorTemplate(t *testing.T) {
	c := fakeClient(fakePod("default", "web-1", "web", corev1.PodRunning))
	_, err := run(t, c, "chaosk8s.pod.probes.pod_is_not_available", map[string]any{"name": "web"})
	assert.EqualError(t, err, "pod 'web' is actually running")
	out, err := run(t, c, "chaosk8s.pod.probes.pod_is_not_available", map[string]any{"name": "api"})
	require.NoError(t, err)
	assert.Equal(t, true, out, "nothing matches 'name in (api)'")
}

func TestTerminatePodsSafetyAndOutput(t *testing.T) {
	c := fakeClient(fakePod("default", "web-1", "web", corev1.PodRunning), fakePod("default", "web-2", "web", corev1.PodRunning), fakePod("default", "db-1", "db", corev1.PodRunning))
	_, err := run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{})
	assert.ErrorContains(t, err, "refusing to select every pod of namespace 'default'")
	_, err = run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{"qty": -2, "label_selector": "app=web"})
	assert.EqualError(t, err, "Cannot select pods. Quantity '-2' is negative.")

	out, err := run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "mode": "percentage", "qty": 1})
	require.NoError(t, err)
	assert.Equal(t, []any{"web-1"}, out)
	out, err = run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=nothing"})
	require.NoError(t, err)
	assert.Equal(t, []any{}, out, "no match is not an error")

	_, err = run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": "kube-system"})
	assert.EqualError(t, err, "refusing to act on system namespace 'kube-system': set the configuration key chaostest_allow_system_namespaces to true to allow it")
	_, err = runEnv(t, c, provider.Env{Configuration: map[string]any{AllowSystemNamespacesKey: true}}, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": "kube-system"})
	assert.NoError(t, err)

	out, err = run(t, c, "chaosk8s.pod.actions.terminate_pods", map[string]any{"all": true})
	require.NoError(t, err)
	assert.Equal(t, []any{"db-1", "web-2"}, out, "all: every remaining pod, in API (name) order")
	assert.False(t, c.LastActionEnd().IsZero(), "actions record their end for RecoveryTime")
}

func TestExecInPodsSkipsPodsWithoutTheContainer(t *testing.T) {
	c := fakeClient(fakePod("default", "web-1", "web", corev1.PodRunning))
	out, err := run(t, c, "chaosk8s.pod.actions.exec_in_pods", map[string]any{"cmd": "echo hi", "label_selector": "app=web"})
	require.NoError(t, err)
	assert.Equal(t, []any{}, out, "container_name None matches no container, as upstream")
	_, err = run(t, c, "chaosk8s.pod.actions.exec_in_pods", map[string]any{"cmd": "", "label_selector": "app=web"})
	assert.EqualError(t, err, "A command must be set to run a container")
}

func deployment(ns, name string, replicas, available, ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: available, ReadyReplicas: ready, Replicas: replicas},
	}
}

func TestDeploymentProbesAndTheDeprecatedWrapperReturningNull(t *testing.T) {
	c := fakeClient(deployment("default", "ok", 2, 2, 2), deployment("default", "half", 2, 1, 1))
	out, err := run(t, c, "chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": "ok"})
	require.NoError(t, err)
	assert.Equal(t, true, out)
	_, err = run(t, c, "chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": "half"})
	assert.EqualError(t, err, "Deployment 'half' is not healthy")
	_, err = run(t, c, "chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": "gone"})
	assert.EqualError(t, err, "Deployment 'gone' was not found")
	out, err = run(t, c, "chaosk8s.deployment.probes.deployment_partially_available", map[string]any{"name": "half"})
	require.NoError(t, err)
	assert.Equal(t, true, out)

	out, err = run(t, c, "chaosk8s.probes.microservice_available_and_healthy", map[string]any{"name": "ok"})
	require.NoError(t, err)
	assert.Nil(t, out, "upstream's wrapper has no return statement")
	_, err = run(t, c, "chaosk8s.probes.microservice_available_and_healthy", map[string]any{"name": "half"})
	assert.EqualError(t, err, "Deployment 'half' is not healthy", "but it still raises")
}

func TestShouldBeFoundInLogs(t *testing.T) {
	c := fakeClient()
	logs := map[string]any{"a": "2026 started\n2026 ready", "b": "2026 started"}
	out, err := run(t, c, "chaosk8s.pod.probes.should_be_found_in_logs", map[string]any{"pattern": "ready$", "value": logs})
	require.NoError(t, err)
	assert.Equal(t, false, out, "all containers must match by default")
	out, err = run(t, c, "chaosk8s.pod.probes.should_be_found_in_logs", map[string]any{"pattern": "ready$", "value": logs, "all_containers": false})
	require.NoError(t, err)
	assert.Equal(t, true, out)
	_, err = run(t, c, "chaosk8s.pod.probes.should_be_found_in_logs", map[string]any{"pattern": "x"})
	assert.EqualError(t, err, "no logs to search from")
}

func TestAllPodsHealthyAndLegacyAlias(t *testing.T) {
	c := fakeClient(fakePod("default", "a", "web", corev1.PodRunning), fakePod("default", "b", "job", corev1.PodSucceeded), fakePod("shop", "c", "x", corev1.PodPending))
	out, err := run(t, c, "chaosk8s.probes.all_microservices_healthy", nil)
	require.NoError(t, err)
	assert.Equal(t, true, out)
	_, err = run(t, c, "chaosk8s.pod.probes.all_pods_healthy", map[string]any{"ns": "shop"})
	assert.EqualError(t, err, "the system is unhealthy")
}

func TestNodeSelectionMessagesAndSafety(t *testing.T) {
	c := fakeClient(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"pool": "a"}}})
	_, err := run(t, c, "chaosk8s.node.actions.cordon_node", map[string]any{})
	assert.EqualError(t, err, "refusing to act on every node: give name or label_selector")
	_, err = run(t, c, "chaosk8s.node.actions.cordon_node", map[string]any{"label_selector": "pool=b"})
	assert.EqualError(t, err, "failed to find a node that matches selector pool=b")
	out, err := run(t, c, "chaosk8s.node.actions.cordon_node", map[string]any{"label_selector": "pool=a"})
	require.NoError(t, err)
	assert.Equal(t, []any{"n1"}, out)
}

func TestDeleteWithoutNameOrSelectorIsRefused(t *testing.T) {
	c := fakeClient(deployment("default", "ok", 1, 1, 1))
	for _, name := range []string{"chaosk8s.deployment.actions.delete_deployment", "chaosk8s.statefulset.actions.remove_statefulset", "chaosk8s.daemonset.actions.delete_daemon_set", "chaosk8s.replicaset.actions.delete_replica_set"} {
		_, err := run(t, c, name, map[string]any{})
		assert.ErrorContains(t, err, "refusing to delete every", name)
	}
}

func TestDrainEvictionCandidatesFollowKubectl(t *testing.T) {
	yes := true
	owned := func(p *corev1.Pod, kind string) *corev1.Pod {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: "o", Controller: &yes}}
		return p
	}
	rs := owned(fakePod("d", "rs-pod", "a", corev1.PodRunning), "ReplicaSet")
	ds := owned(fakePod("d", "ds-pod", "a", corev1.PodRunning), "DaemonSet")
	mirror := fakePod("d", "mirror", "a", corev1.PodRunning)
	mirror.Annotations = map[string]string{"kubernetes.io/config.mirror": "x"}
	done := fakePod("d", "done", "a", corev1.PodSucceeded)
	local := owned(fakePod("d", "local", "a", corev1.PodRunning), "ReplicaSet")
	local.Spec.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}

	got, err := evictionCandidates([]corev1.Pod{*rs, *ds, *mirror, *done, *local}, "n1", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"rs-pod", "done"}, podNames(got))
	got, err = evictionCandidates([]corev1.Pod{*rs, *local}, "n1", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"rs-pod", "local"}, podNames(got))

	_, err = evictionCandidates([]corev1.Pod{*fakePod("d", "bare", "a", corev1.PodRunning)}, "n1", false)
	assert.EqualError(t, err, "Pod 'bare' on node 'n1' is unmanaged, cannot drain this node. Delete it manually first?")
}

func TestWaitUntilFollowsWatchEvents(t *testing.T) {
	cs := fake.NewClientset(deployment("default", "web", 2, 0, 0))
	c := newClient(cs, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Until(ctx, DeploymentReady("default", "web"), 10*time.Second) }()
	// The fake watch only sees changes made after the watch starts: keep updating until the
	// waiter returns (bounded).
	for i := 0; i < 200; i++ {
		d := deployment("default", "web", 2, 2, 2)
		d.Status.UpdatedReplicas = 2
		_, err := cs.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
		require.NoError(t, err)
		select {
		case err := <-errc:
			require.NoError(t, err)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("Until did not see the deployment become ready")
}

func TestUntilReportsWhatItLastSaw(t *testing.T) {
	c := fakeClient(deployment("default", "web", 2, 1, 1))
	err := c.Until(context.Background(), DeploymentReady("default", "web"), 200*time.Millisecond)
	assert.EqualError(t, err, "deployment default/web fully available: not reached within 200ms; last seen: 1/2 ready, 1 available, 0 updated, 2 total")
}
