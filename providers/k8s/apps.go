package k8s

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaostest/chaostest/provider"
)

type specPathArgs struct {
	SpecPath string `arg:"spec_path"`
	NS       string `arg:"ns" default:"\"default\""`
}

type nameOrSelectorArgs struct {
	Name          string `arg:"name" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type scaleArgs struct {
	Name     string `arg:"name"`
	Replicas int    `arg:"replicas"`
	NS       string `arg:"ns" default:"\"default\""`
}

type rolloutArgs struct {
	Name string `arg:"name" default:"null"`
	NS   string `arg:"ns" default:"\"default\""`
}

type updateArgs struct {
	Name string         `arg:"name"`
	Spec map[string]any `arg:"spec"`
	NS   string         `arg:"ns" default:"\"default\""`
}

type deploymentHealthArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
	Raise         bool   `arg:"raise_on_unavailable" default:"true"`
}

type deploymentPartialArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
	Raise         bool   `arg:"raise_on_not_partially_available" default:"true"`
}

type fullyAvailableArgs struct {
	Name          string  `arg:"name"`
	NS            string  `arg:"ns" default:"\"default\""`
	LabelSelector string  `arg:"label_selector" default:"null"`
	Timeout       float64 `arg:"timeout" default:"30"`
	Raise         bool    `arg:"raise_on_not_fully_available" default:"true"`
}

type notFullyAvailableArgs struct {
	Name          string  `arg:"name"`
	NS            string  `arg:"ns" default:"\"default\""`
	LabelSelector string  `arg:"label_selector" default:"null"`
	Timeout       float64 `arg:"timeout" default:"30"`
	Raise         bool    `arg:"raise_on_fully_available" default:"true"`
}

type daemonSetArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type daemonSetWaitArgs struct {
	Name          string  `arg:"name"`
	NS            string  `arg:"ns" default:"\"default\""`
	LabelSelector string  `arg:"label_selector" default:"null"`
	Timeout       float64 `arg:"timeout" default:"30"`
}

func init() {
	register("chaosk8s.deployment.actions.create_deployment", "Create a deployment from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var d appsv1.Deployment
			if err := convert(m, &d); err != nil {
				return err
			}
			_, err := c.cs.AppsV1().Deployments(a.NS).Create(ctx, &d, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.deployment.actions.delete_deployment", "Delete a deployment by name or label selector.", func(ctx context.Context, c *Client, env provider.Env, a nameOrSelectorArgs) (any, error) {
		api := c.cs.AppsV1().Deployments(a.NS)
		return c.deleteNamed(ctx, env, "deployment", a, api.Delete, func(ctx context.Context, o metav1.ListOptions) ([]string, error) {
			l, err := api.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items, func(d appsv1.Deployment) string { return d.Name }), nil
		})
	})
	register("chaosk8s.deployment.actions.scale_deployment", "Scale a deployment to a number of replicas.", func(ctx context.Context, c *Client, env provider.Env, a scaleArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.Replicas)
		if _, err := c.cs.AppsV1().Deployments(a.NS).Patch(ctx, a.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("failed to scale '%s' to %d replicas: %s", a.Name, a.Replicas, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.deployment.actions.rollout_deployment", "Restart a deployment's pods with a rolling update (kubectl rollout restart).", func(ctx context.Context, c *Client, env provider.Env, a rolloutArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		body := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
		if _, err := c.cs.AppsV1().Deployments(a.NS).Patch(ctx, a.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("failed to rollout restart deployment '%s': %s", pyStr(a.Name), apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.deployment.probes.deployment_available_and_healthy", "True when the deployment's available replicas equal its desired replicas.", func(ctx context.Context, c *Client, env provider.Env, a deploymentHealthArgs) (any, error) {
		return deploymentHealth(ctx, c, a.Name, a.NS, a.LabelSelector, a.Raise, false)
	})
	register("chaosk8s.deployment.probes.deployment_partially_available", "True when the deployment has at least one available replica.", func(ctx context.Context, c *Client, env provider.Env, a deploymentPartialArgs) (any, error) {
		return deploymentHealth(ctx, c, a.Name, a.NS, a.LabelSelector, a.Raise, true)
	})
	register("chaosk8s.deployment.probes.deployment_fully_available", "Watch until all the deployment's replicas are ready, within timeout seconds.", func(ctx context.Context, c *Client, env provider.Env, a fullyAvailableArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, deploymentsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, true, deploymentReady)
		return readinessResult(ok, err, a.Raise, "deployment '%s' failed to recover within %ss", a.Name, a.Timeout)
	})
	register("chaosk8s.deployment.probes.deployment_not_fully_available", "Watch until the deployment is not fully ready, within timeout seconds.", func(ctx context.Context, c *Client, env provider.Env, a notFullyAvailableArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, deploymentsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, false, deploymentReady)
		return readinessResult(ok, err, a.Raise, "deployment '%s' failed to stop running within %ss", a.Name, a.Timeout)
	})

	register("chaosk8s.statefulset.actions.create_statefulset", "Create a statefulset from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var s appsv1.StatefulSet
			if err := convert(m, &s); err != nil {
				return err
			}
			_, err := c.cs.AppsV1().StatefulSets(a.NS).Create(ctx, &s, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.statefulset.actions.scale_statefulset", "Scale a statefulset to a number of replicas.", func(ctx context.Context, c *Client, env provider.Env, a scaleArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.Replicas)
		if _, err := c.cs.AppsV1().StatefulSets(a.NS).Patch(ctx, a.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("failed to scale '%s' to %d replicas: %s", a.Name, a.Replicas, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.statefulset.actions.remove_statefulset", "Delete a statefulset by name or label selector.", func(ctx context.Context, c *Client, env provider.Env, a nameOrSelectorArgs) (any, error) {
		api := c.cs.AppsV1().StatefulSets(a.NS)
		return c.deleteNamed(ctx, env, "statefulset", a, api.Delete, func(ctx context.Context, o metav1.ListOptions) ([]string, error) {
			l, err := api.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items, func(d appsv1.StatefulSet) string { return d.Name }), nil
		})
	})
	register("chaosk8s.statefulset.probes.statefulset_fully_available", "Watch until all the statefulset's replicas are ready, within timeout seconds.", func(ctx context.Context, c *Client, env provider.Env, a fullyAvailableArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, statefulSetsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, true, statefulSetReady)
		return readinessResult(ok, err, a.Raise, "statefulset '%s' failed to recover within %ss", a.Name, a.Timeout)
	})
	register("chaosk8s.statefulset.probes.statefulset_not_fully_available", "Watch until the statefulset is not fully ready, within timeout seconds.", func(ctx context.Context, c *Client, env provider.Env, a notFullyAvailableArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, statefulSetsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, false, statefulSetReady)
		return readinessResult(ok, err, a.Raise, "statefulset '%s' failed to stop running within %ss", a.Name, a.Timeout)
	})

	register("chaosk8s.daemonset.actions.create_daemon_set", "Create a daemon set from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var s appsv1.DaemonSet
			if err := convert(m, &s); err != nil {
				return err
			}
			_, err := c.cs.AppsV1().DaemonSets(a.NS).Create(ctx, &s, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.daemonset.actions.delete_daemon_set", "Delete a daemon set by name or label selector.", func(ctx context.Context, c *Client, env provider.Env, a nameOrSelectorArgs) (any, error) {
		api := c.cs.AppsV1().DaemonSets(a.NS)
		return c.deleteNamed(ctx, env, "daemon set", a, api.Delete, func(ctx context.Context, o metav1.ListOptions) ([]string, error) {
			l, err := api.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items, func(d appsv1.DaemonSet) string { return d.Name }), nil
		})
	})
	register("chaosk8s.daemonset.actions.update_daemon_set", "Patch a daemon set with the given spec (a strategic merge patch).", func(ctx context.Context, c *Client, env provider.Env, a updateArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		body, err := jsonBytes(a.Spec)
		if err != nil {
			return nil, err
		}
		if _, err := c.cs.AppsV1().DaemonSets(a.NS).Patch(ctx, a.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("failed to update daemon set '%s': %s", a.Name, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.daemonset.probes.daemon_set_available_and_healthy", "True when the daemon set's ready pods equal its desired pods (false otherwise).", func(ctx context.Context, c *Client, env provider.Env, a daemonSetArgs) (any, error) {
		return daemonSetHealth(ctx, c, a, false)
	})
	register("chaosk8s.daemonset.probes.daemon_set_partially_available", "True when the daemon set has at least one ready pod (false otherwise).", func(ctx context.Context, c *Client, env provider.Env, a daemonSetArgs) (any, error) {
		return daemonSetHealth(ctx, c, a, true)
	})
	register("chaosk8s.daemonset.probes.daemon_set_fully_available", "Watch until all the daemon set's pods are ready; false on timeout.", func(ctx context.Context, c *Client, env provider.Env, a daemonSetWaitArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, daemonSetsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, true, daemonSetReady)
		if err != nil {
			return nil, err
		}
		return ok, nil
	})
	register("chaosk8s.daemonset.probes.daemon_set_not_fully_available", "Watch until the daemon set is not fully ready; false on timeout.", func(ctx context.Context, c *Client, env provider.Env, a daemonSetWaitArgs) (any, error) {
		ok, err := c.readinessHasState(ctx, daemonSetsSource(c, a.NS), a.Name, a.LabelSelector, a.Timeout, false, daemonSetReady)
		if err != nil {
			return nil, err
		}
		return ok, nil
	})

	register("chaosk8s.replicaset.actions.delete_replica_set", "Delete a replica set by name or label selector.", func(ctx context.Context, c *Client, env provider.Env, a nameOrSelectorArgs) (any, error) {
		api := c.cs.AppsV1().ReplicaSets(a.NS)
		return c.deleteNamed(ctx, env, "replica set", a, api.Delete, func(ctx context.Context, o metav1.ListOptions) ([]string, error) {
			l, err := api.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items, func(d appsv1.ReplicaSet) string { return d.Name }), nil
		})
	})
}

func itemNames[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

// createFromFile loads a manifest and creates it in ns.
func (c *Client) createFromFile(ctx context.Context, env provider.Env, path, ns string, create func(map[string]any) error) (any, error) {
	if err := c.checkNamespace(env, ns); err != nil {
		return nil, err
	}
	m, err := loadSpecFile(path)
	if err != nil {
		return nil, err
	}
	if err := create(m); err != nil {
		return nil, fmt.Errorf("failed to create the object of %s in ns '%s': %s", path, ns, apiError(err))
	}
	return nil, nil
}

// deleteNamed deletes the object called a.Name or, without a name, every object matching
// a.LabelSelector; with neither it refuses (chaostest safety). It returns nil as chaosk8s does.
func (c *Client) deleteNamed(ctx context.Context, env provider.Env, kind string, a nameOrSelectorArgs,
	del func(ctx context.Context, name string, o metav1.DeleteOptions) error,
	list func(ctx context.Context, o metav1.ListOptions) ([]string, error)) (any, error) {
	if err := c.checkNamespace(env, a.NS); err != nil {
		return nil, err
	}
	var targets []string
	switch {
	case a.Name != "":
		targets = []string{a.Name}
	case a.LabelSelector != "":
		var err error
		if targets, err = list(ctx, metav1.ListOptions{LabelSelector: a.LabelSelector}); err != nil {
			return nil, fmt.Errorf("listing %ss '%s' in ns '%s': %s", kind, a.LabelSelector, a.NS, apiError(err))
		}
	default:
		return nil, fmt.Errorf("refusing to delete every %s of ns '%s': give name or label_selector", kind, a.NS)
	}
	listed := a.Name == ""
	for _, n := range targets {
		if err := del(ctx, n, metav1.DeleteOptions{}); err != nil {
			if listed && apierrors.IsNotFound(err) {
				continue // gone between the list and the delete (a garbage collector was faster)
			}
			return nil, fmt.Errorf("failed to delete %s '%s' in ns '%s': %s", kind, n, a.NS, apiError(err))
		}
	}
	logf(env, "deleted %d %s(s) in ns '%s'", len(targets), kind, a.NS)
	return nil, nil
}

func deploymentHealth(ctx context.Context, c *Client, name, ns, selector string, raise, partial bool) (any, error) {
	l, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing deployment '%s' in ns '%s': %s", name, ns, apiError(err))
	}
	items := l.Items[:0]
	for _, d := range l.Items {
		if d.Name == name { // the API filtered by field already; fake clientsets do not
			items = append(items, d)
		}
	}
	if len(items) == 0 {
		return failOrFalse(raise, "Deployment '%s' was not found", name)
	}
	for _, d := range items {
		avail := d.Status.AvailableReplicas
		if partial {
			if avail >= 1 {
				return true, nil
			}
			return failOrFalse(raise, "Deployment '%s' is not healthy", name)
		}
		// chaosk8s compares status.available_replicas, absent (None) when zero, with
		// spec.replicas: a deployment scaled to zero is never healthy there either.
		if avail == 0 || d.Spec.Replicas == nil || avail != *d.Spec.Replicas {
			return failOrFalse(raise, "Deployment '%s' is not healthy", name)
		}
	}
	return true, nil
}

func daemonSetHealth(ctx context.Context, c *Client, a daemonSetArgs, partial bool) (any, error) {
	l, err := c.cs.AppsV1().DaemonSets(a.NS).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + a.Name, LabelSelector: a.LabelSelector})
	if err != nil {
		return nil, fmt.Errorf("listing daemon set '%s' in ns '%s': %s", a.Name, a.NS, apiError(err))
	}
	items := l.Items[:0]
	for _, d := range l.Items {
		if d.Name == a.Name {
			items = append(items, d)
		}
	}
	if len(items) == 0 {
		return false, nil
	}
	for _, d := range items {
		if partial {
			return d.Status.NumberReady >= 1, nil
		}
		if d.Status.NumberReady != d.Status.DesiredNumberScheduled {
			return false, nil
		}
	}
	return true, nil
}

// readiness functions: chaosk8s compares status.ready_replicas (None when zero) with
// spec.replicas, so zero ready replicas never count as ready.
func deploymentReady(o runtime.Object) bool {
	d, ok := o.(*appsv1.Deployment)
	return ok && d.Status.ReadyReplicas != 0 && d.Spec.Replicas != nil && d.Status.ReadyReplicas == *d.Spec.Replicas
}

func statefulSetReady(o runtime.Object) bool {
	d, ok := o.(*appsv1.StatefulSet)
	return ok && d.Status.ReadyReplicas != 0 && d.Spec.Replicas != nil && d.Status.ReadyReplicas == *d.Spec.Replicas
}

func daemonSetReady(o runtime.Object) bool {
	d, ok := o.(*appsv1.DaemonSet)
	return ok && d.Status.NumberReady == d.Status.DesiredNumberScheduled
}

// readinessHasState watches the named object until one matching it has readiness == ready,
// for at most timeout seconds.
func (c *Client) readinessHasState(ctx context.Context, s source, name, selector string, timeout float64, ready bool, isReady func(runtime.Object) bool) (bool, error) {
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	opts := metav1.ListOptions{FieldSelector: "metadata.name=" + name, LabelSelector: formatName(selector, name)}
	if selector == "" {
		opts.LabelSelector = ""
	}
	return waitUntil(ctx, s, opts, func(objs []runtime.Object) bool {
		for _, o := range objs {
			if isReady(o) == ready {
				return true
			}
		}
		return false
	})
}

func readinessResult(ok bool, err error, raise bool, format, name string, timeout float64) (any, error) {
	if err != nil {
		return nil, err
	}
	if ok {
		return true, nil
	}
	return failOrFalse(raise, format, name, pyNumber(timeout))
}

// pyNumber renders a number as Python's str() of the int or float the file gave.
func pyNumber(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprint(f)
}

func deploymentsSource(c *Client, ns string) source {
	return sourceFor(c.cs.AppsV1().Deployments(ns), func(l *appsv1.DeploymentList) []runtime.Object { return objects(l.Items) })
}

func statefulSetsSource(c *Client, ns string) source {
	return sourceFor(c.cs.AppsV1().StatefulSets(ns), func(l *appsv1.StatefulSetList) []runtime.Object { return objects(l.Items) })
}

func daemonSetsSource(c *Client, ns string) source {
	return sourceFor(c.cs.AppsV1().DaemonSets(ns), func(l *appsv1.DaemonSetList) []runtime.Object { return objects(l.Items) })
}

// objects turns a list's items (values) into pointers as runtime.Objects.
func objects[T any, P interface {
	*T
	runtime.Object
}](items []T) []runtime.Object {
	out := make([]runtime.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}
