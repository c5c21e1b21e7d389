package k8s

import (
	"context"

	"github.com/chaostest/chaostest/provider"
)

// The deprecated top-level modules chaosk8s.actions and chaosk8s.probes, still common in old
// experiments, forward to the modern functions with their own defaults and quirks.

type legacyNameArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"\"name in ({name})\""`
}

type legacyDeploymentArgs struct {
	Name          string `arg:"name"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type legacyWaitArgs struct {
	Name          string  `arg:"name"`
	NS            string  `arg:"ns" default:"\"default\""`
	LabelSelector string  `arg:"label_selector" default:"null"`
	Timeout       float64 `arg:"timeout" default:"30"`
}

type legacyNSArgs struct {
	NS string `arg:"ns" default:"\"default\""`
}

func init() {
	register("chaosk8s.actions.start_microservice", "Deprecated: create_deployment.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": a.SpecPath, "ns": a.NS})
	})
	register("chaosk8s.actions.remove_service_endpoint", "Deprecated: delete_service.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.service.actions.delete_service", map[string]any{"name": a.Name, "ns": a.NS})
	})
	register("chaosk8s.actions.scale_microservice", "Deprecated: scale_deployment.", func(ctx context.Context, c *Client, env provider.Env, a scaleArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.deployment.actions.scale_deployment", map[string]any{"name": a.Name, "replicas": a.Replicas, "ns": a.NS})
	})
	register("chaosk8s.actions.kill_microservice", "Deprecated: delete the deployment, then its replica sets and pods (by label).", func(ctx context.Context, c *Client, env provider.Env, a legacyNameArgs) (any, error) {
		sel := formatName(a.LabelSelector, a.Name)
		if _, err := call(ctx, c, env, "chaosk8s.deployment.actions.delete_deployment", map[string]any{"name": a.Name, "ns": a.NS}); err != nil {
			return nil, err
		}
		if _, err := call(ctx, c, env, "chaosk8s.replicaset.actions.delete_replica_set", map[string]any{"ns": a.NS, "label_selector": sel}); err != nil {
			return nil, err
		}
		if _, err := call(ctx, c, env, "chaosk8s.pod.actions.delete_pods", map[string]any{"ns": a.NS, "label_selector": sel}); err != nil {
			return nil, err
		}
		return nil, nil
	})

	register("chaosk8s.probes.all_microservices_healthy", "Deprecated: all_pods_healthy.", func(ctx context.Context, c *Client, env provider.Env, a legacyNSArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.pod.probes.all_pods_healthy", map[string]any{"ns": a.NS})
	})
	register("chaosk8s.probes.microservice_available_and_healthy", "Deprecated: deployment_available_and_healthy, but returns null (upstream's missing return).", func(ctx context.Context, c *Client, env provider.Env, a legacyDeploymentArgs) (any, error) {
		args := map[string]any{"name": a.Name, "ns": a.NS}
		if a.LabelSelector != "" {
			args["label_selector"] = a.LabelSelector
		}
		_, err := call(ctx, c, env, "chaosk8s.deployment.probes.deployment_available_and_healthy", args)
		return nil, err
	})
	register("chaosk8s.probes.microservice_is_not_available", "Deprecated: pod_is_not_available.", func(ctx context.Context, c *Client, env provider.Env, a legacyNameArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.pod.probes.pod_is_not_available", map[string]any{"name": a.Name, "ns": a.NS, "label_selector": a.LabelSelector})
	})
	register("chaosk8s.probes.service_endpoint_is_initialized", "Deprecated: service_is_initialized.", func(ctx context.Context, c *Client, env provider.Env, a legacyNameArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.service.probes.service_is_initialized", map[string]any{"name": a.Name, "ns": a.NS, "label_selector": formatName(a.LabelSelector, a.Name)})
	})
	register("chaosk8s.probes.deployment_is_fully_available", "Deprecated: deployment_fully_available.", func(ctx context.Context, c *Client, env provider.Env, a legacyWaitArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.deployment.probes.deployment_fully_available", legacyWait(a))
	})
	register("chaosk8s.probes.deployment_is_not_fully_available", "Deprecated: deployment_not_fully_available.", func(ctx context.Context, c *Client, env provider.Env, a legacyWaitArgs) (any, error) {
		return call(ctx, c, env, "chaosk8s.deployment.probes.deployment_not_fully_available", legacyWait(a))
	})
	register("chaosk8s.probes.read_microservices_logs", "Deprecated alias of read_pod_logs.", readPodLogs)
	register("chaosk8s.probes.secret_exists", "Alias of chaosk8s.secret.probes.secret_exists.", secretExists)
}

func legacyWait(a legacyWaitArgs) map[string]any {
	args := map[string]any{"name": a.Name, "ns": a.NS, "timeout": a.Timeout}
	if a.LabelSelector != "" {
		args["label_selector"] = a.LabelSelector
	}
	return args
}

// call runs another registered function with the same client.
func call(ctx context.Context, c *Client, env provider.Env, name string, args map[string]any) (any, error) {
	f, ok := provider.LookupFunc(name)
	if !ok {
		panic("k8s: " + name + " is not registered")
	}
	return f.Call(withClient(ctx, c), env, args)
}
