//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

func TestDeploymentActionsAndProbes(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 2)
	assert.Equal(t, true, mustCall(t, "chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": "web", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.deployment.probes.deployment_partially_available", map[string]any{"name": "web", "ns": ns}))
	assert.Nil(t, mustCall(t, "chaosk8s.probes.microservice_available_and_healthy", map[string]any{"name": "web", "ns": ns}), "upstream's wrapper returns None")
	_, err := kcall(t, "chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": "nope", "ns": ns})
	assert.EqualError(t, err, "Deployment 'nope' was not found")

	// a healthy deployment never stops being fully available: the whole timeout, then False / raise
	start := time.Now()
	_, err = kcall(t, "chaosk8s.deployment.probes.deployment_not_fully_available", map[string]any{"name": "web", "ns": ns, "timeout": 2})
	assert.EqualError(t, err, "deployment 'web' failed to stop running within 2s")
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second)
	_, err = kcall(t, "chaosk8s.probes.deployment_is_fully_available", map[string]any{"name": "missing", "ns": ns, "timeout": 1})
	assert.EqualError(t, err, "deployment 'missing' failed to recover within 1s")
	out := mustCall(t, "chaosk8s.deployment.probes.deployment_fully_available", map[string]any{"name": "missing", "ns": ns, "timeout": 1, "raise_on_not_fully_available": false})
	assert.Equal(t, false, out)

	assert.Nil(t, mustCall(t, "chaosk8s.deployment.actions.scale_deployment", map[string]any{"name": "web", "replicas": 3, "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.deployment_is_not_fully_available", map[string]any{"name": "web", "ns": ns, "timeout": 30}), "right after scaling up, one replica is not ready yet")
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.deployment_is_fully_available", map[string]any{"name": "web", "ns": ns, "timeout": 120}))
	_, err = kcall(t, "chaosk8s.deployment.actions.scale_deployment", map[string]any{"name": "nope", "replicas": 1, "ns": ns})
	assert.ErrorContains(t, err, "failed to scale 'nope' to 1 replicas: (404) Reason: NotFound")
	mustCall(t, "chaosk8s.actions.scale_microservice", map[string]any{"name": "web", "replicas": 1, "ns": ns})

	mustCall(t, "chaosk8s.deployment.actions.rollout_deployment", map[string]any{"name": "web", "ns": ns})
	d, err := kube.cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"])
	require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, "web"), 120*time.Second))

	mustCall(t, "chaosk8s.deployment.actions.delete_deployment", map[string]any{"name": "web", "ns": ns})
	_, err = kube.cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	assert.True(t, err != nil, "deployment deleted")

	// deprecated start_microservice / kill_microservice
	mustCall(t, "chaosk8s.actions.start_microservice", map[string]any{"spec_path": writeSpec(t, "api.json", deploymentManifest("api", 1)), "ns": ns})
	require.NoError(t, kube.Until(context.Background(), DeploymentReady(ns, "api"), 120*time.Second))
	mustCall(t, "chaosk8s.actions.kill_microservice", map[string]any{"name": "api", "ns": ns})
	require.NoError(t, kube.Until(context.Background(), Condition{
		desc: "no api pods", src: func(c *Client) source { return podsSource(c, ns) }, opts: metav1.ListOptions{LabelSelector: "app=api"},
		holds: func(objs []runtime.Object) (bool, string) { return len(objs) == 0, "" },
	}, 60*time.Second))
}

func TestReplicaSetDelete(t *testing.T) {
	ns := namespace(t)
	startWeb(t, ns, "web", 1)
	l, err := kube.cs.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	old := l.Items[0].UID
	mustCall(t, "chaosk8s.replicaset.actions.delete_replica_set", map[string]any{"name": l.Items[0].Name, "ns": ns})
	// the deployment controller makes a new replica set, which becomes ready
	api := kube.cs.AppsV1().ReplicaSets(ns)
	require.NoError(t, kube.Until(context.Background(), Condition{
		desc: "a new ready replica set of web",
		src: func(c *Client) source {
			return source{
				list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
					l, err := api.List(ctx, o)
					if err != nil {
						return nil, "", err
					}
					return objects(l.Items), l.ResourceVersion, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return api.Watch(ctx, o) },
			}
		},
		opts: metav1.ListOptions{LabelSelector: "app=web"},
		holds: func(objs []runtime.Object) (bool, string) {
			for _, o := range objs {
				rs := o.(*appsv1.ReplicaSet)
				if rs.UID != old && rs.Status.ReadyReplicas == 1 {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d replica sets", len(objs))
		},
	}, 120*time.Second))
}

func statefulSetManifest(name string, replicas int) map[string]any {
	d := deploymentManifest(name, replicas)
	d["kind"] = "StatefulSet"
	d["spec"].(map[string]any)["serviceName"] = name
	d["spec"].(map[string]any)["podManagementPolicy"] = "Parallel"
	return d
}

func TestStatefulSet(t *testing.T) {
	ns := namespace(t)
	mustCall(t, "chaosk8s.statefulset.actions.create_statefulset", map[string]any{"spec_path": writeSpec(t, "db.yaml", statefulSetManifest("db", 1)), "ns": ns})
	assert.Equal(t, true, mustCall(t, "chaosk8s.statefulset.probes.statefulset_fully_available", map[string]any{"name": "db", "ns": ns, "timeout": 120}))
	mustCall(t, "chaosk8s.statefulset.actions.scale_statefulset", map[string]any{"name": "db", "replicas": 2, "ns": ns})
	assert.Equal(t, true, mustCall(t, "chaosk8s.statefulset.probes.statefulset_not_fully_available", map[string]any{"name": "db", "ns": ns, "timeout": 30}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.statefulset.probes.statefulset_fully_available", map[string]any{"name": "db", "ns": ns, "timeout": 120}))
	mustCall(t, "chaosk8s.statefulset.actions.remove_statefulset", map[string]any{"label_selector": "app=db", "ns": ns})
	out := mustCall(t, "chaosk8s.statefulset.probes.statefulset_fully_available", map[string]any{"name": "db", "ns": ns, "timeout": 1, "raise_on_not_fully_available": false})
	assert.Equal(t, false, out)
}

func daemonSetManifest(name string) map[string]any {
	d := deploymentManifest(name, 1)
	d["kind"] = "DaemonSet"
	delete(d["spec"].(map[string]any), "replicas")
	// stay on the real node: kwok nodes carry a taint this pod does not tolerate
	return d
}

func TestDaemonSet(t *testing.T) {
	ns := namespace(t)
	mustCall(t, "chaosk8s.daemonset.actions.create_daemon_set", map[string]any{"spec_path": writeSpec(t, "agent.json", daemonSetManifest("agent")), "ns": ns})
	// like upstream, daemon_set_fully_available takes a fresh daemon set (0 desired, 0 ready) as
	// ready: wait for the controller to schedule its pod first
	api := kube.cs.AppsV1().DaemonSets(ns)
	require.NoError(t, kube.Until(context.Background(), Condition{
		desc: "daemon set agent scheduled and ready",
		src:  func(c *Client) source { return daemonSetsSource(c, ns) },
		opts: metav1.ListOptions{FieldSelector: "metadata.name=agent"},
		holds: func(objs []runtime.Object) (bool, string) {
			if len(objs) == 0 {
				return false, "absent"
			}
			s := objs[0].(*appsv1.DaemonSet).Status
			return s.DesiredNumberScheduled >= 1 && s.NumberReady == s.DesiredNumberScheduled, fmt.Sprintf("%d/%d ready", s.NumberReady, s.DesiredNumberScheduled)
		},
	}, 120*time.Second))
	_ = api
	assert.Equal(t, true, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_fully_available", map[string]any{"name": "agent", "ns": ns, "timeout": 120}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_available_and_healthy", map[string]any{"name": "agent", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_partially_available", map[string]any{"name": "agent", "ns": ns}))
	assert.Equal(t, false, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_not_fully_available", map[string]any{"name": "agent", "ns": ns, "timeout": 1}), "returns False on timeout, no raise")
	assert.Equal(t, false, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_available_and_healthy", map[string]any{"name": "nope", "ns": ns}))
	mustCall(t, "chaosk8s.daemonset.actions.update_daemon_set", map[string]any{"name": "agent", "ns": ns,
		"spec": map[string]any{"metadata": map[string]any{"labels": map[string]any{"updated": "yes"}}}})
	ds, err := kube.cs.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "yes", ds.Labels["updated"])
	mustCall(t, "chaosk8s.daemonset.actions.delete_daemon_set", map[string]any{"name": "agent", "ns": ns})
	assert.Equal(t, false, mustCall(t, "chaosk8s.daemonset.probes.daemon_set_partially_available", map[string]any{"name": "agent", "ns": ns}))
}
