//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/chaostest/chaostest/internal/cluster"
	"github.com/chaostest/chaostest/jsonvalue"
)

// TestNodesCordonDrainUncordonOnKwok uses kwok fake nodes: two made by the cluster package,
// one by create_node; a deployment whose pods tolerate the fake-node taint runs on them.
func TestNodesCordonDrainUncordonOnKwok(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	prefix := "ct-kwok-" + rand.String(4)
	names, err := cluster.AddFakeNodes(ctx, kube.cs, prefix, 2)
	t.Cleanup(func() { _ = cluster.DeleteFakeNodes(context.Background(), kube.cs, names...) })
	require.NoError(t, err)
	pool := "kubernetes.io/hostname in (" + names[0] + "," + names[1] + ")"

	// create_node: a third fake node, in kwok's format
	extra := prefix + "-x"
	out := mustCall(t, "chaosk8s.node.actions.create_node", map[string]any{
		"meta": map[string]any{"name": extra, "labels": map[string]any{cluster.FakeNodeLabel: "kwok", "kubernetes.io/hostname": extra, "chaostest-pool": prefix},
			"annotations": map[string]any{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
		"spec": map[string]any{"taints": []any{map[string]any{"key": cluster.FakeNodeTaint.Key, "value": cluster.FakeNodeTaint.Value, "effect": string(cluster.FakeNodeTaint.Effect)}}},
	})
	t.Cleanup(func() { _ = cluster.DeleteFakeNodes(context.Background(), kube.cs, extra) })
	assert.Equal(t, extra, out.(*jsonvalue.Object).Value("metadata").(*jsonvalue.Object).Value("name"))

	// probes see real and fake nodes
	nodes := mustCall(t, "chaosk8s.node.probes.get_nodes", map[string]any{"label_selector": "kubernetes.io/hostname=" + names[0]}).(*jsonvalue.Object)
	assert.Equal(t, "NodeList", nodes.Value("kind"))
	assert.Len(t, nodes.Value("items"), 1)
	conds := mustCall(t, "chaosk8s.node.probes.get_all_node_status_conditions", map[string]any{"label_selector": pool}).([]any)
	require.Len(t, conds, 2)
	assert.Equal(t, "True", conds[0].(*jsonvalue.Object).Value("Ready"))
	assert.Equal(t, true, mustCall(t, "chaosk8s.node.probes.all_nodes_must_be_ready_to_schedule", map[string]any{"label_selector": pool}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.node.probes.verify_nodes_condition", map[string]any{"label_selector": pool, "condition_type": "Ready", "condition_value": "True"}))
	assert.Equal(t, false, mustCall(t, "chaosk8s.node.probes.verify_nodes_condition", map[string]any{"label_selector": pool, "condition_type": "Ready", "condition_value": "False"}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.node.probes.nodes_must_be_healthy", map[string]any{"label_selector": pool}))

	// cordon / uncordon
	assert.Equal(t, []any{names[0]}, mustCall(t, "chaosk8s.node.actions.cordon_node", map[string]any{"name": names[0]}))
	n, err := kube.cs.CoreV1().Nodes().Get(ctx, names[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, n.Spec.Unschedulable)
	assert.Equal(t, true, mustCall(t, "chaosk8s.node.probes.all_nodes_must_be_ready_to_schedule", map[string]any{"label_selector": pool}), "cordoning is ignored, as upstream")
	assert.Equal(t, []any{names[0]}, mustCall(t, "chaosk8s.node.actions.uncordon_node", map[string]any{"name": names[0]}))
	n, err = kube.cs.CoreV1().Nodes().Get(ctx, names[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, n.Spec.Unschedulable)
	_, err = kcall(t, "chaosk8s.node.actions.cordon_node", map[string]any{"name": "no-such-node"})
	assert.EqualError(t, err, "failed to find a node that matches selector None")

	// drain: pods on the fake pool move off the drained node
	d := deploymentManifest("fleet", 4)
	spec := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["nodeSelector"] = map[string]any{cluster.FakeNodeLabel: "kwok"}
	spec["tolerations"] = []any{map[string]any{"key": cluster.FakeNodeTaint.Key, "operator": "Exists", "effect": string(cluster.FakeNodeTaint.Effect)}}
	spec["affinity"] = map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "kubernetes.io/hostname", "operator": "In", "values": []any{names[0], names[1]}}}}}}}}
	spec["containers"].([]any)[0].(map[string]any)["readinessProbe"] = nil
	mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, "fleet.json", d), "ns": ns})
	require.NoError(t, kube.Until(ctx, PodsRunning(ns, "app=fleet").AtLeast(4), 2*time.Minute))
	require.NoError(t, kube.Until(ctx, podsOn(ns, "app=fleet", names[0]), time.Minute), "some fleet pods run on %s", names[0])

	out = mustCall(t, "chaosk8s.node.actions.drain_nodes", map[string]any{"name": names[0], "timeout": 90})
	assert.Equal(t, []any{names[0]}, out)
	l, err := kube.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + names[0]})
	require.NoError(t, err)
	assert.Empty(t, l.Items, "no pod left on the drained node")
	require.NoError(t, kube.Until(ctx, PodsRunning(ns, "app=fleet").AtLeast(4), 2*time.Minute), "the evicted pods run again elsewhere")
	mustCall(t, "chaosk8s.node.actions.uncordon_node", map[string]any{"label_selector": pool})

	// delete_nodes
	out = mustCall(t, "chaosk8s.node.actions.delete_nodes", map[string]any{"label_selector": "chaostest-pool=" + prefix})
	assert.Equal(t, []any{extra}, out)
	_, err = kcall(t, "chaosk8s.node.actions.delete_nodes", map[string]any{"label_selector": "chaostest-pool=" + prefix})
	assert.EqualError(t, err, fmt.Sprintf("failed to find a node that matches selector chaostest-pool=%s", prefix))
}

// podsOn holds when at least one pod of selector runs on node.
func podsOn(ns, selector, node string) Condition {
	return Condition{
		desc: fmt.Sprintf("pods %q on node %s", selector, node),
		src:  func(c *Client) source { return podsSource(c, ns) },
		opts: metav1.ListOptions{LabelSelector: selector},
		holds: func(objs []runtime.Object) (bool, string) {
			for _, o := range objs {
				if p := o.(*corev1.Pod); p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning {
					return true, ""
				}
			}
			return false, "none there"
		},
	}
}
