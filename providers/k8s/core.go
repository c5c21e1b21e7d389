package k8s

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaostest/chaostest/provider"
)

type nameNSArgs struct {
	Name string `arg:"name"`
	NS   string `arg:"ns" default:"\"default\""`
}

type serviceIsInitializedArgs struct {
	Name          string `arg:"name" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
	Raise         bool   `arg:"raise_if_service_not_initialized" default:"true"`
}

type createNamespaceArgs struct {
	Name     string `arg:"name" default:"null"`
	SpecPath string `arg:"spec_path" default:"null"`
}

type nameArgs struct {
	Name string `arg:"name"`
}

type secretExistsArgs struct {
	Name          string `arg:"name" default:"null"`
	NS            string `arg:"ns" default:"\"default\""`
	LabelSelector string `arg:"label_selector" default:"null"`
}

type getEventsArgs struct {
	LabelSelector string `arg:"label_selector" default:"null"`
	FieldSelector string `arg:"field_selector" default:"null"`
	Limit         int    `arg:"limit" default:"100"`
}

type networkPolicyArgs struct {
	Spec     map[string]any `arg:"spec" default:"null"`
	SpecPath string         `arg:"spec_path" default:"null"`
	NS       string         `arg:"ns" default:"\"default\""`
}

type labelSelectorsArgs struct {
	LabelSelectors map[string]any `arg:"label_selectors" default:"null"`
	NS             string         `arg:"ns" default:"\"default\""`
}

type nsArgs struct {
	NS string `arg:"ns" default:"\"default\""`
}

// Names of the network policies the networking helpers create, as chaosk8s names them.
const (
	denyAllIngressPolicy = "chaostoolkit-deny-all-ingress"
	denyAllEgressPolicy  = "chaostoolkit-deny-all-egress"
	allowDNSPolicy       = "chaostoolkit-allow-dns"
)

func init() {
	register("chaosk8s.service.actions.create_service_endpoint", "Create a service from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var s corev1.Service
			if err := convert(m, &s); err != nil {
				return err
			}
			_, err := c.cs.CoreV1().Services(a.NS).Create(ctx, &s, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.service.actions.delete_service", "Delete a service.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		return c.deleteOne(ctx, env, "service", a.Name, a.NS, c.cs.CoreV1().Services(a.NS).Delete)
	})
	register("chaosk8s.service.probes.service_is_initialized", "True when the service exists.", serviceIsInitialized)

	register("chaosk8s.namespace.actions.create_namespace", "Create a namespace by name or from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a createNamespaceArgs) (any, error) {
		var ns corev1.Namespace
		if a.SpecPath != "" {
			m, err := loadSpecFile(a.SpecPath)
			if err != nil {
				return nil, err
			}
			if err := convert(m, &ns); err != nil {
				return nil, err
			}
		} else {
			ns.Name = a.Name
		}
		if _, err := c.cs.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("failed to create namespace '%s': %s", ns.Name, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.namespace.actions.delete_namespace", "Delete a namespace.", func(ctx context.Context, c *Client, env provider.Env, a nameArgs) (any, error) {
		if err := c.checkNamespace(env, a.Name); err != nil {
			return nil, err
		}
		if a.Name == "default" {
			return nil, fmt.Errorf("refusing to delete namespace 'default'")
		}
		if err := c.cs.CoreV1().Namespaces().Delete(ctx, a.Name, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("failed to delete namespace '%s': %s", a.Name, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.namespace.probes.namespace_exists", "True when the namespace exists.", func(ctx context.Context, c *Client, env provider.Env, a nameArgs) (any, error) {
		l, err := c.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + a.Name})
		if err != nil {
			return nil, fmt.Errorf("listing namespaces: %s", apiError(err))
		}
		return len(l.Items) > 0, nil
	})

	register("chaosk8s.secret.actions.create_secret", "Create a secret from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var s corev1.Secret
			if err := convert(m, &s); err != nil {
				return err
			}
			_, err := c.cs.CoreV1().Secrets(a.NS).Create(ctx, &s, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.secret.actions.delete_secret", "Delete a secret.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		return c.deleteOne(ctx, env, "secret", a.Name, a.NS, c.cs.CoreV1().Secrets(a.NS).Delete)
	})
	register("chaosk8s.secret.probes.secret_exists", "True when a secret of that name (or label selector) exists.", secretExists)

	// chaosk8s reads events.k8s.io/v1 (EventsV1Api.list_event_for_all_namespaces) and returns
	// the response body as parsed JSON: an EventList whose items carry regarding, note,
	// reportingController..., and whose field selectors are regarding.*, reason, type,
	// reportingController, metadata.name and metadata.namespace.
	register("chaosk8s.event.probes.get_events", "Events (events.k8s.io/v1) across all namespaces: the raw EventList JSON.", func(ctx context.Context, c *Client, env provider.Env, a getEventsArgs) (any, error) {
		req := c.cs.EventsV1().RESTClient().Get().Resource("events").Param("limit", fmt.Sprint(a.Limit))
		if a.LabelSelector != "" {
			req = req.Param("labelSelector", a.LabelSelector)
		}
		if a.FieldSelector != "" {
			req = req.Param("fieldSelector", a.FieldSelector)
		}
		b, err := doRaw(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("listing events: %s", apiError(err))
		}
		return rawJSON(b)
	})

	register("chaosk8s.networking.actions.create_ingress", "Create an ingress from a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a specPathArgs) (any, error) {
		return c.createFromFile(ctx, env, a.SpecPath, a.NS, func(m map[string]any) error {
			var s networkingv1.Ingress
			if err := convert(m, &s); err != nil {
				return err
			}
			_, err := c.cs.NetworkingV1().Ingresses(a.NS).Create(ctx, &s, metav1.CreateOptions{})
			return err
		})
	})
	register("chaosk8s.networking.actions.delete_ingress", "Delete an ingress.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		return c.deleteOne(ctx, env, "ingress", a.Name, a.NS, c.cs.NetworkingV1().Ingresses(a.NS).Delete)
	})
	register("chaosk8s.networking.actions.update_ingress", "Patch an ingress with the given spec.", func(ctx context.Context, c *Client, env provider.Env, a updateArgs) (any, error) {
		if err := c.checkNamespace(env, a.NS); err != nil {
			return nil, err
		}
		body, err := jsonBytes(a.Spec)
		if err != nil {
			return nil, err
		}
		if _, err := c.cs.NetworkingV1().Ingresses(a.NS).Patch(ctx, a.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("failed to update ingress '%s': %s", a.Name, apiError(err))
		}
		return nil, nil
	})
	register("chaosk8s.networking.probes.ingress_exists", "True when the ingress exists.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		l, err := c.cs.NetworkingV1().Ingresses(a.NS).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + a.Name})
		if err != nil {
			return nil, fmt.Errorf("listing ingresses: %s", apiError(err))
		}
		return len(l.Items) > 0, nil
	})
	register("chaosk8s.networking.actions.create_network_policy", "Create a network policy from spec or a JSON or YAML file.", func(ctx context.Context, c *Client, env provider.Env, a networkPolicyArgs) (any, error) {
		spec := a.Spec
		if a.SpecPath != "" {
			m, err := loadSpecFile(a.SpecPath)
			if err != nil {
				return nil, err
			}
			spec = m
		}
		return nil, c.createNetworkPolicy(ctx, env, spec, a.NS)
	})
	register("chaosk8s.networking.actions.remove_network_policy", "Delete a network policy.", func(ctx context.Context, c *Client, env provider.Env, a nameNSArgs) (any, error) {
		return c.deleteOne(ctx, env, "network policy", a.Name, a.NS, c.cs.NetworkingV1().NetworkPolicies(a.NS).Delete)
	})
	register("chaosk8s.networking.actions.deny_all_ingress", "Deny all ingress traffic to the namespace's pods (or those matching label_selectors).", func(ctx context.Context, c *Client, env provider.Env, a labelSelectorsArgs) (any, error) {
		return nil, c.createNetworkPolicy(ctx, env, policySpec(denyAllIngressPolicy, a.LabelSelectors, "Ingress", map[string]any{"ingress": []any{}}), a.NS)
	})
	register("chaosk8s.networking.actions.remove_deny_all_ingress", "Remove the policy deny_all_ingress created.", func(ctx context.Context, c *Client, env provider.Env, a nsArgs) (any, error) {
		return c.deleteOne(ctx, env, "network policy", denyAllIngressPolicy, a.NS, c.cs.NetworkingV1().NetworkPolicies(a.NS).Delete)
	})
	register("chaosk8s.networking.actions.deny_all_egress", "Deny all egress traffic from the namespace's pods (or those matching label_selectors).", func(ctx context.Context, c *Client, env provider.Env, a labelSelectorsArgs) (any, error) {
		return nil, c.createNetworkPolicy(ctx, env, policySpec(denyAllEgressPolicy, a.LabelSelectors, "Egress", nil), a.NS)
	})
	register("chaosk8s.networking.actions.remove_deny_all_egress", "Remove the policy deny_all_egress created.", func(ctx context.Context, c *Client, env provider.Env, a nsArgs) (any, error) {
		return c.deleteOne(ctx, env, "network policy", denyAllEgressPolicy, a.NS, c.cs.NetworkingV1().NetworkPolicies(a.NS).Delete)
	})
	register("chaosk8s.networking.actions.allow_dns_access", "Allow DNS (port 53 UDP and TCP) egress from the namespace's pods.", func(ctx context.Context, c *Client, env provider.Env, a labelSelectorsArgs) (any, error) {
		egress := []any{map[string]any{
			"to":    []any{map[string]any{"namespaceSelector": map[string]any{}}},
			"ports": []any{map[string]any{"port": 53, "protocol": "UDP"}, map[string]any{"port": 53, "protocol": "TCP"}},
		}}
		return nil, c.createNetworkPolicy(ctx, env, policySpec(allowDNSPolicy, a.LabelSelectors, "Egress", map[string]any{"egress": egress}), a.NS)
	})
	register("chaosk8s.networking.actions.remove_allow_dns_access", "Remove the policy allow_dns_access created.", func(ctx context.Context, c *Client, env provider.Env, a nsArgs) (any, error) {
		return c.deleteOne(ctx, env, "network policy", allowDNSPolicy, a.NS, c.cs.NetworkingV1().NetworkPolicies(a.NS).Delete)
	})
}

// policySpec builds the NetworkPolicy manifests of chaosk8s's networking helpers.
func policySpec(name string, labels map[string]any, policyType string, extra map[string]any) map[string]any {
	podSelector := map[string]any{}
	if len(labels) > 0 {
		podSelector["matchLabels"] = labels
	}
	spec := map[string]any{"podSelector": podSelector, "policyTypes": []any{policyType}}
	for k, v := range extra {
		spec[k] = v
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}
}

func (c *Client) createNetworkPolicy(ctx context.Context, env provider.Env, spec map[string]any, ns string) error {
	if err := c.checkNamespace(env, ns); err != nil {
		return err
	}
	var p networkingv1.NetworkPolicy
	if err := convert(spec, &p); err != nil {
		return fmt.Errorf("network policy: %v", err)
	}
	if _, err := c.cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, &p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("failed to create network policy '%s' in ns '%s': %s", p.Name, ns, apiError(err))
	}
	return nil
}

func (c *Client) deleteOne(ctx context.Context, env provider.Env, kind, name, ns string, del func(context.Context, string, metav1.DeleteOptions) error) (any, error) {
	if err := c.checkNamespace(env, ns); err != nil {
		return nil, err
	}
	if err := del(ctx, name, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("failed to delete %s '%s' in ns '%s': %s", kind, name, ns, apiError(err))
	}
	return nil, nil
}

func serviceIsInitialized(ctx context.Context, c *Client, env provider.Env, a serviceIsInitializedArgs) (any, error) {
	o := metav1.ListOptions{LabelSelector: a.LabelSelector}
	if a.LabelSelector == "" {
		o = metav1.ListOptions{FieldSelector: "metadata.name=" + a.Name}
	}
	l, err := c.cs.CoreV1().Services(a.NS).List(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("listing services: %s", apiError(err))
	}
	if len(l.Items) == 0 {
		return failOrFalse(a.Raise, "service '%s' is not initialized", pyStr(a.Name))
	}
	return true, nil
}

func secretExists(ctx context.Context, c *Client, env provider.Env, a secretExistsArgs) (any, error) {
	o := metav1.ListOptions{LabelSelector: a.LabelSelector}
	if a.Name != "" {
		o.FieldSelector = "metadata.name=" + a.Name
	}
	l, err := c.cs.CoreV1().Secrets(a.NS).List(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %s", apiError(err))
	}
	return len(l.Items) > 0, nil
}
