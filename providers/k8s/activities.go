package k8s

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/provider"
)

// Option sets an argument of the chaosk8s function an activity calls. Options a function does
// not take make the activity fail with Chaos Toolkit's "not part of the function signature".
type Option func(args map[string]any, fn *provider.Func)

// Arg sets the argument name to v.
func Arg(name string, v any) Option { return func(a map[string]any, _ *provider.Func) { a[name] = v } }

// In sets the namespace (ns; default "default").
func In(ns string) Option { return Arg("ns", ns) }

// Selector sets label_selector.
func Selector(sel string) Option { return Arg("label_selector", sel) }

// Qty sets how many pods to pick (qty; default 1).
func Qty(n int) Option { return Arg("qty", n) }

// Percent picks p percent of the matching pods, rounded up (mode "percentage", qty p).
func Percent(p int) Option {
	return func(a map[string]any, _ *provider.Func) { a["mode"], a["qty"] = "percentage", p }
}

// All picks every matching pod (all: true).
func All() Option { return Arg("all", true) }

// Random picks pods at random (rand: true).
func Random() Option { return Arg("rand", true) }

// Oldest orders the pods by creation time, oldest first (order "oldest").
func Oldest() Option { return Arg("order", "oldest") }

// NamePattern keeps the pods whose name the Python regular expression p matches (re.search).
func NamePattern(p string) Option { return Arg("name_pattern", p) }

// GracePeriod sets the pods' termination grace period (grace_period, in whole seconds).
func GracePeriod(d time.Duration) Option { return Arg("grace_period", int(d/time.Second)) }

// Container names the container (container_name).
func Container(name string) Option { return Arg("container_name", name) }

// Previous reads the logs of the previous container instance (from_previous: true).
func Previous() Option { return Arg("from_previous", true) }

// NoRaise makes a probe return false instead of failing (every raise_on_* / raise_if_*
// argument of the function set to false).
func NoRaise() Option {
	return func(a map[string]any, fn *provider.Func) {
		if fn == nil {
			return
		}
		for _, s := range fn.Args {
			if strings.HasPrefix(s.Name, "raise_") {
				a[s.Name] = false
			}
		}
	}
}

// Call returns an activity calling the chaosk8s function name (for example
// "chaosk8s.statefulset.actions.scale_statefulset") with args and opts, through this client.
// The journal shows the Python provider; an unknown name fails when the activity runs.
func (c *Client) Call(name string, args map[string]any, opts ...Option) *chaostest.Activity {
	if args == nil {
		args = map[string]any{}
	}
	f, ok := provider.LookupFunc(name)
	for _, o := range opts {
		o(args, f)
	}
	c.defaultNamespace(args, f)
	return chaostest.Python(name, args).RunFunc(func(ctx context.Context, env provider.Env) (any, error) {
		if !ok {
			return nil, fmt.Errorf("no provider is registered under %q", name)
		}
		return f.Call(withClient(ctx, c), env, args)
	})
}

// TerminatePods is chaosk8s.pod.actions.terminate_pods on the pods matching selector (one by
// default; see Qty, Percent, All, Random, Oldest, NamePattern, GracePeriod, In). Its output is
// the list of deleted pod names.
func (c *Client) TerminatePods(selector string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": selector}, opts...)
}

// ExecInPods is chaosk8s.pod.actions.exec_in_pods: cmd runs in container of the pods matching
// selector (one by default).
func (c *Client) ExecInPods(selector, container string, cmd []string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.actions.exec_in_pods", map[string]any{"label_selector": selector, "container_name": container, "cmd": cmd}, opts...)
}

// PodsInPhase is chaosk8s.pod.probes.pods_in_phase: true when pods match selector and all are
// in phase; it fails otherwise (or returns false with NoRaise).
func (c *Client) PodsInPhase(selector string, phase corev1.PodPhase, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": selector, "phase": string(phase)}, opts...)
}

// PodsNotInPhase is chaosk8s.pod.probes.pods_not_in_phase.
func (c *Client) PodsNotInPhase(selector string, phase corev1.PodPhase, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.probes.pods_not_in_phase", map[string]any{"label_selector": selector, "phase": string(phase)}, opts...)
}

// CountPods is chaosk8s.pod.probes.count_pods (an int; Arg("phase", "Running") to count one
// phase).
func (c *Client) CountPods(selector string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.probes.count_pods", map[string]any{"label_selector": selector}, opts...)
}

// ReadPodLogs is chaosk8s.pod.probes.read_pod_logs for the pods matching selector, the last
// span of logs (all of them when last is 0): {pod_name: logs}.
func (c *Client) ReadPodLogs(selector string, last time.Duration, opts ...Option) *chaostest.Activity {
	args := map[string]any{"label_selector": selector}
	if last > 0 {
		args["last"] = fmt.Sprintf("%ds", int(last.Round(time.Second)/time.Second))
	}
	return c.Call("chaosk8s.pod.probes.read_pod_logs", args, opts...)
}

// AllPodsHealthy is chaosk8s.pod.probes.all_pods_healthy.
func (c *Client) AllPodsHealthy(opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.pod.probes.all_pods_healthy", nil, opts...)
}

// DeploymentAvailableAndHealthy is chaosk8s.deployment.probes.deployment_available_and_healthy.
func (c *Client) DeploymentAvailableAndHealthy(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.deployment.probes.deployment_available_and_healthy", map[string]any{"name": name}, opts...)
}

// DeploymentFullyAvailable is chaosk8s.deployment.probes.deployment_fully_available: it watches
// the deployment until all its replicas are ready, for at most within.
func (c *Client) DeploymentFullyAvailable(name string, within time.Duration, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.deployment.probes.deployment_fully_available", map[string]any{"name": name, "timeout": pystr.Seconds(within)}, opts...)
}

// DeploymentNotFullyAvailable is chaosk8s.deployment.probes.deployment_not_fully_available.
func (c *Client) DeploymentNotFullyAvailable(name string, within time.Duration, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.deployment.probes.deployment_not_fully_available", map[string]any{"name": name, "timeout": pystr.Seconds(within)}, opts...)
}

// ScaleDeployment is chaosk8s.deployment.actions.scale_deployment.
func (c *Client) ScaleDeployment(name string, replicas int, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.deployment.actions.scale_deployment", map[string]any{"name": name, "replicas": replicas}, opts...)
}

// RolloutDeployment is chaosk8s.deployment.actions.rollout_deployment (a rolling restart).
func (c *Client) RolloutDeployment(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.deployment.actions.rollout_deployment", map[string]any{"name": name}, opts...)
}

// CordonNode is chaosk8s.node.actions.cordon_node on the named node.
func (c *Client) CordonNode(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.node.actions.cordon_node", map[string]any{"name": name}, opts...)
}

// UncordonNode is chaosk8s.node.actions.uncordon_node on the named node.
func (c *Client) UncordonNode(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.node.actions.uncordon_node", map[string]any{"name": name}, opts...)
}

// DrainNodes is chaosk8s.node.actions.drain_nodes on the named node.
func (c *Client) DrainNodes(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.node.actions.drain_nodes", map[string]any{"name": name}, opts...)
}

// DenyAllIngress is chaosk8s.networking.actions.deny_all_ingress for the pods with labels (all
// pods of the namespace when labels is empty).
func (c *Client) DenyAllIngress(labels map[string]string, opts ...Option) *chaostest.Activity {
	args := map[string]any{}
	if len(labels) > 0 {
		m := map[string]any{}
		for k, v := range labels {
			m[k] = v
		}
		args["label_selectors"] = m
	}
	return c.Call("chaosk8s.networking.actions.deny_all_ingress", args, opts...)
}

// RemoveDenyAllIngress is chaosk8s.networking.actions.remove_deny_all_ingress.
func (c *Client) RemoveDenyAllIngress(opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.networking.actions.remove_deny_all_ingress", nil, opts...)
}

// ServiceIsInitialized is chaosk8s.service.probes.service_is_initialized.
func (c *Client) ServiceIsInitialized(name string, opts ...Option) *chaostest.Activity {
	return c.Call("chaosk8s.service.probes.service_is_initialized", map[string]any{"name": name}, opts...)
}
