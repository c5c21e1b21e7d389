package k8s

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

type deleteNodesArgs struct {
	LabelSelector      string `arg:"label_selector" default:"null"`
	All                bool   `arg:"all" default:"false"`
	Rand               bool   `arg:"rand" default:"false"`
	Count              *int   `arg:"count" default:"null"`
	GracePeriodSeconds *int64 `arg:"grace_period_seconds" default:"null"`
	PodLabelSelector   string `arg:"pod_label_selector" default:"null"`
	PodNamespace       string `arg:"pod_namespace" default:"null"`
}

type createNodeArgs struct {
	Meta map[string]any `arg:"meta" default:"null"`
	Spec map[string]any `arg:"spec" default:"null"`
}

type nodeNameArgs struct {
	Name          string `arg:"name" default:"null"`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type drainNodesArgs struct {
	Name                       string  `arg:"name" default:"null"`
	LabelSelector              string  `arg:"label_selector" default:"null"`
	DeletePodsWithLocalStorage bool    `arg:"delete_pods_with_local_storage" default:"false"`
	Timeout                    float64 `arg:"timeout" default:"120"`
	Count                      *int    `arg:"count" default:"null"`
	PodLabelSelector           string  `arg:"pod_label_selector" default:"null"`
	PodNamespace               string  `arg:"pod_namespace" default:"null"`
}

type nodeSelectorArgs struct {
	LabelSelector string `arg:"label_selector" default:"null"`
}

type verifyNodesConditionArgs struct {
	ConditionType  string `arg:"condition_type" default:"\"PIDPressure\""`
	ConditionValue string `arg:"condition_value" default:"\"False\""`
	LabelSelector  string `arg:"label_selector" default:"null"`
}

func init() {
	register("chaosk8s.node.actions.delete_nodes", "Delete nodes (not drained first); returns their names.", deleteNodes)
	register("chaosk8s.node.actions.create_node", "Create a node from metadata and spec; returns it.", func(ctx context.Context, c *Client, env provider.Env, a createNodeArgs) (any, error) {
		var n corev1.Node
		if err := convert(a.Meta, &n.ObjectMeta); err != nil {
			return nil, fmt.Errorf("meta: %v", err)
		}
		if err := convert(a.Spec, &n.Spec); err != nil {
			return nil, fmt.Errorf("spec: %v", err)
		}
		res, err := c.cs.CoreV1().Nodes().Create(ctx, &n, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("Creating new node failed: %s", apiError(err))
		}
		res.APIVersion, res.Kind = "v1", "Node"
		return jsonValue(res)
	})
	register("chaosk8s.node.actions.cordon_node", "Mark nodes unschedulable; returns their names.", func(ctx context.Context, c *Client, env provider.Env, a nodeNameArgs) (any, error) {
		nodes, err := c.selectNodes(ctx, a.Name, a.LabelSelector, true)
		if err != nil {
			return nil, err
		}
		return c.setUnschedulable(ctx, nodes, true)
	})
	register("chaosk8s.node.actions.uncordon_node", "Mark nodes schedulable again; returns their names.", func(ctx context.Context, c *Client, env provider.Env, a nodeNameArgs) (any, error) {
		nodes, err := c.selectNodes(ctx, a.Name, a.LabelSelector, false)
		if err != nil {
			return nil, err
		}
		return c.setUnschedulable(ctx, nodes, false)
	})
	register("chaosk8s.node.actions.drain_nodes", "Cordon nodes and evict their pods, like kubectl drain --ignore-daemonsets; returns the node names.", drainNodes)

	register("chaosk8s.node.probes.get_nodes", "The nodes (raw API JSON).", func(ctx context.Context, c *Client, env provider.Env, a nodeSelectorArgs) (any, error) {
		req := c.cs.CoreV1().RESTClient().Get().Resource("nodes")
		if a.LabelSelector != "" {
			req = req.Param("labelSelector", a.LabelSelector)
		}
		b, err := doRaw(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("listing nodes: %s", apiError(err))
		}
		return rawJSON(b)
	})
	register("chaosk8s.node.probes.get_all_node_status_conditions", "Each node's name and condition statuses.", func(ctx context.Context, c *Client, env provider.Env, a nodeSelectorArgs) (any, error) {
		return nodeConditions(ctx, c, a.LabelSelector)
	})
	register("chaosk8s.node.probes.all_nodes_must_be_ready_to_schedule", "True when every node's Ready condition is True.", func(ctx context.Context, c *Client, env provider.Env, a nodeSelectorArgs) (any, error) {
		return nodesCondition(ctx, c, a.LabelSelector, map[string]string{"Ready": "True"})
	})
	register("chaosk8s.node.probes.verify_nodes_condition", "True when every node has the condition with the value.", func(ctx context.Context, c *Client, env provider.Env, a verifyNodesConditionArgs) (any, error) {
		return nodesCondition(ctx, c, a.LabelSelector, map[string]string{a.ConditionType: a.ConditionValue})
	})
	register("chaosk8s.node.probes.nodes_must_be_healthy", "True when every node is Ready without memory, disk or PID pressure.", func(ctx context.Context, c *Client, env provider.Env, a nodeSelectorArgs) (any, error) {
		return nodesCondition(ctx, c, a.LabelSelector, map[string]string{"Ready": "True", "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False"})
	})
}

// selectNodes lists the nodes named or labelled; guard refuses to pick every node when neither
// is given (chaostest safety).
func (c *Client) selectNodes(ctx context.Context, name, selector string, guard bool) ([]corev1.Node, error) {
	if guard && name == "" && selector == "" {
		return nil, fmt.Errorf("refusing to act on every node: give name or label_selector")
	}
	o := metav1.ListOptions{LabelSelector: selector}
	if name != "" {
		o = metav1.ListOptions{FieldSelector: "metadata.name=" + name}
	}
	l, err := c.cs.CoreV1().Nodes().List(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %s", apiError(err))
	}
	if len(l.Items) == 0 {
		return nil, fmt.Errorf("failed to find a node that matches selector %s", pyStr(selector))
	}
	return l.Items, nil
}

func (c *Client) setUnschedulable(ctx context.Context, nodes []corev1.Node, on bool) (any, error) {
	body := `{"spec":{"unschedulable":true}}`
	verb := "unschedule"
	if !on {
		body, verb = `{"spec":{"unschedulable":null}}`, "schedule"
	}
	out := []any{}
	for _, n := range nodes {
		if _, err := c.cs.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("Failed to %s node '%s': %s", verb, n.Name, apiError(err))
		}
		out = append(out, n.Name)
	}
	return out, nil
}

// nodesHostingPods keeps the nodes that run at least one pod matching selector in ns (all
// namespaces when ns is empty).
func (c *Client) nodesHostingPods(ctx context.Context, nodes []corev1.Node, selector, ns string) ([]corev1.Node, error) {
	if selector == "" && ns == "" {
		return nodes, nil
	}
	l, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing pods '%s': %s", selector, apiError(err))
	}
	hosts := map[string]bool{}
	for _, p := range l.Items {
		hosts[p.Spec.NodeName] = true
	}
	var out []corev1.Node
	for _, n := range nodes {
		if hosts[n.Name] {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("failed to find a node hosting pods that match selector %s", pyStr(selector))
	}
	return out, nil
}

func sampleNodes(nodes []corev1.Node, count int) []corev1.Node {
	count = max(0, min(count, len(nodes)))
	perm := rand.Perm(len(nodes))
	out := make([]corev1.Node, count)
	for i := range out {
		out[i] = nodes[perm[i]]
	}
	return out
}

func deleteNodes(ctx context.Context, c *Client, env provider.Env, a deleteNodesArgs) (any, error) {
	if a.LabelSelector == "" && a.All && a.PodLabelSelector == "" {
		return nil, fmt.Errorf("refusing to delete every node: give label_selector")
	}
	nodes, err := c.selectNodes(ctx, "", a.LabelSelector, false)
	if err != nil {
		return nil, err
	}
	if nodes, err = c.nodesHostingPods(ctx, nodes, a.PodLabelSelector, a.PodNamespace); err != nil {
		return nil, err
	}
	switch {
	case a.Rand:
		nodes = sampleNodes(nodes, 1)
	case a.Count != nil:
		nodes = sampleNodes(nodes, *a.Count)
	case !a.All:
		nodes = nodes[:1]
	}
	out := []any{}
	for _, n := range nodes {
		if err := c.cs.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{GracePeriodSeconds: a.GracePeriodSeconds}); err != nil {
			return nil, fmt.Errorf("Terminating node '%s' failed: %s", n.Name, apiError(err))
		}
		out = append(out, n.Name)
	}
	return out, nil
}

func drainNodes(ctx context.Context, c *Client, env provider.Env, a drainNodesArgs) (any, error) {
	nodes, err := c.selectNodes(ctx, a.Name, a.LabelSelector, true)
	if err != nil {
		return nil, err
	}
	if nodes, err = c.nodesHostingPods(ctx, nodes, a.PodLabelSelector, a.PodNamespace); err != nil {
		return nil, err
	}
	if a.Count != nil {
		nodes = sampleNodes(nodes, *a.Count)
	}
	if _, err := c.setUnschedulable(ctx, nodes, true); err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx, a.Timeout)
	defer cancel()
	out := []any{}
	for _, node := range nodes {
		l, err := c.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node.Name})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of node '%s': %s", node.Name, apiError(err))
		}
		candidates, err := evictionCandidates(l.Items, node.Name, a.DeletePodsWithLocalStorage)
		if err != nil {
			return nil, err
		}
		for _, p := range candidates {
			ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
			if err := c.cs.CoreV1().Pods(p.Namespace).EvictV1(ctx, ev); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("Failed to evict pod %s: %s", p.Name, apiError(err))
			}
		}
		if len(candidates) > 0 {
			uids := map[types.UID]string{}
			for _, p := range candidates {
				uids[p.UID] = p.Name
			}
			var remaining []string
			ok, err := waitUntil(ctx, podsSource(c, ""), metav1.ListOptions{FieldSelector: "spec.nodeName=" + node.Name}, func(objs []runtime.Object) bool {
				remaining = remaining[:0]
				for _, o := range objs {
					if p, _ := o.(*corev1.Pod); p != nil {
						if n, ok := uids[p.UID]; ok {
							remaining = append(remaining, n)
						}
					}
				}
				return len(remaining) == 0
			})
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("Draining nodes did not completed within %ss. Remaining pods are:\n%s", pyNumber(a.Timeout), strings.Join(remaining, "\n"))
			}
		}
		out = append(out, node.Name)
	}
	return out, nil
}

// evictionCandidates follows kubectl drain --ignore-daemonsets as chaosk8s does: mirror pods
// and daemon-set pods stay, pods with emptyDir volumes go only when allowed, finished pods
// go, controlled pods go, and an unmanaged pod stops the drain.
func evictionCandidates(pods []corev1.Pod, node string, localStorage bool) ([]corev1.Pod, error) {
	var out []corev1.Pod
	for _, p := range pods {
		if _, mirror := p.Annotations["kubernetes.io/config.mirror"]; mirror {
			continue
		}
		local := false
		for _, v := range p.Spec.Volumes {
			if v.EmptyDir != nil {
				local = true
			}
		}
		if local {
			if localStorage {
				out = append(out, p)
			}
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			out = append(out, p)
			continue
		}
		managed := false
		for _, o := range p.OwnerReferences {
			if o.Kind == "DaemonSet" {
				managed = true
				break
			}
			if o.Controller != nil && *o.Controller {
				out = append(out, p)
				managed = true
				break
			}
		}
		if !managed {
			return nil, fmt.Errorf("Pod '%s' on node '%s' is unmanaged, cannot drain this node. Delete it manually first?", p.Name, node)
		}
	}
	return out, nil
}

func podsSource(c *Client, ns string) source {
	return sourceFor(c.cs.CoreV1().Pods(ns), func(l *corev1.PodList) []runtime.Object { return objects(l.Items) })
}

func nodeConditions(ctx context.Context, c *Client, selector string) ([]any, error) {
	l, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %s", apiError(err))
	}
	out := []any{}
	for _, n := range l.Items {
		o := jsonvalue.NewObject("name", n.Name)
		for _, cond := range n.Status.Conditions {
			o.Set(string(cond.Type), string(cond.Status))
		}
		out = append(out, o)
	}
	return out, nil
}

func nodesCondition(ctx context.Context, c *Client, selector string, want map[string]string) (any, error) {
	nodes, err := nodeConditions(ctx, c, selector)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		o := n.(*jsonvalue.Object)
		for k, v := range want {
			if got, _ := o.Value(k).(string); got != v {
				return false, nil
			}
		}
	}
	return true, nil
}
