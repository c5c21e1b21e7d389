//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func TestServiceNamespaceSecretEvents(t *testing.T) {
	ns := namespace(t)
	svc := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "labels": map[string]any{"name": "web"}},
		"spec": map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{map[string]any{"port": 80, "targetPort": 8080}}}}
	mustCall(t, "chaosk8s.service.actions.create_service_endpoint", map[string]any{"spec_path": writeSpec(t, "svc.json", svc), "ns": ns})
	assert.Equal(t, true, mustCall(t, "chaosk8s.service.probes.service_is_initialized", map[string]any{"name": "web", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.service_endpoint_is_initialized", map[string]any{"name": "web", "ns": ns}), "default selector name in (web)")
	mustCall(t, "chaosk8s.service.actions.delete_service", map[string]any{"name": "web", "ns": ns})
	_, err := kcall(t, "chaosk8s.service.probes.service_is_initialized", map[string]any{"name": "web", "ns": ns})
	assert.EqualError(t, err, "service 'web' is not initialized")
	assert.Equal(t, false, mustCall(t, "chaosk8s.service.probes.service_is_initialized", map[string]any{"name": "web", "ns": ns, "raise_if_service_not_initialized": false}))
	mustCall(t, "chaosk8s.service.actions.create_service_endpoint", map[string]any{"spec_path": writeSpec(t, "svc2.json", svc), "ns": ns})
	mustCall(t, "chaosk8s.actions.remove_service_endpoint", map[string]any{"name": "web", "ns": ns})

	sec := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "token", "labels": map[string]any{"role": "api"}}, "stringData": map[string]any{"k": "v"}}
	mustCall(t, "chaosk8s.secret.actions.create_secret", map[string]any{"spec_path": writeSpec(t, "sec.yaml", sec), "ns": ns})
	assert.Equal(t, true, mustCall(t, "chaosk8s.secret.probes.secret_exists", map[string]any{"name": "token", "ns": ns}))
	assert.Equal(t, true, mustCall(t, "chaosk8s.probes.secret_exists", map[string]any{"label_selector": "role=api", "ns": ns}))
	mustCall(t, "chaosk8s.secret.actions.delete_secret", map[string]any{"name": "token", "ns": ns})
	assert.Equal(t, false, mustCall(t, "chaosk8s.secret.probes.secret_exists", map[string]any{"name": "token", "ns": ns}))

	other := "ct-ns-" + rand.String(6)
	mustCall(t, "chaosk8s.namespace.actions.create_namespace", map[string]any{"name": other})
	t.Cleanup(func() { _ = kube.cs.CoreV1().Namespaces().Delete(context.Background(), other, metav1.DeleteOptions{}) })
	assert.Equal(t, true, mustCall(t, "chaosk8s.namespace.probes.namespace_exists", map[string]any{"name": other}))
	mustCall(t, "chaosk8s.namespace.actions.delete_namespace", map[string]any{"name": other})
	_, err = kcall(t, "chaosk8s.namespace.actions.delete_namespace", map[string]any{"name": "kube-system"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-system'")
	assert.Equal(t, false, mustCall(t, "chaosk8s.namespace.probes.namespace_exists", map[string]any{"name": "no-such-namespace"}))
	fromFile := "ct-nsf-" + rand.String(6)
	mustCall(t, "chaosk8s.namespace.actions.create_namespace", map[string]any{"spec_path": writeSpec(t, "ns.json", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": fromFile}})})
	t.Cleanup(func() {
		_ = kube.cs.CoreV1().Namespaces().Delete(context.Background(), fromFile, metav1.DeleteOptions{})
	})
	assert.Equal(t, true, mustCall(t, "chaosk8s.namespace.probes.namespace_exists", map[string]any{"name": fromFile}))

	ev := mustCall(t, "chaosk8s.event.probes.get_events", map[string]any{"field_selector": "regarding.namespace=" + ns, "limit": 50}).(*jsonvalue.Object)
	assert.Equal(t, "EventList", ev.Value("kind"))
	all := mustCall(t, "chaosk8s.event.probes.get_events", map[string]any{"limit": 5}).(*jsonvalue.Object)
	assert.LessOrEqual(t, len(all.Value("items").([]any)), 5)
}

func TestNetworking(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	policies := func() []string {
		l, err := kube.cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		var out []string
		for _, p := range l.Items {
			out = append(out, p.Name)
		}
		return out
	}
	mustCall(t, "chaosk8s.networking.actions.deny_all_ingress", map[string]any{"ns": ns, "label_selectors": map[string]any{"app": "web"}})
	p, err := kube.cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, "chaostoolkit-deny-all-ingress", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"app": "web"}, p.Spec.PodSelector.MatchLabels)
	mustCall(t, "chaosk8s.networking.actions.deny_all_egress", map[string]any{"ns": ns})
	mustCall(t, "chaosk8s.networking.actions.allow_dns_access", map[string]any{"ns": ns})
	assert.ElementsMatch(t, []string{"chaostoolkit-deny-all-ingress", "chaostoolkit-deny-all-egress", "chaostoolkit-allow-dns"}, policies())
	mustCall(t, "chaosk8s.networking.actions.remove_deny_all_ingress", map[string]any{"ns": ns})
	mustCall(t, "chaosk8s.networking.actions.remove_deny_all_egress", map[string]any{"ns": ns})
	mustCall(t, "chaosk8s.networking.actions.remove_allow_dns_access", map[string]any{"ns": ns})
	assert.Empty(t, policies())
	_, err = kcall(t, "chaosk8s.networking.actions.deny_all_ingress", map[string]any{"ns": "kube-public"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-public'")

	np := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": "custom"},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}}}
	mustCall(t, "chaosk8s.networking.actions.create_network_policy", map[string]any{"spec": np, "ns": ns})
	mustCall(t, "chaosk8s.networking.actions.remove_network_policy", map[string]any{"name": "custom", "ns": ns})
	mustCall(t, "chaosk8s.networking.actions.create_network_policy", map[string]any{"spec_path": writeSpec(t, "np.yaml", np), "ns": ns})
	assert.Equal(t, []string{"custom"}, policies())

	ing := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"defaultBackend": map[string]any{"service": map[string]any{"name": "web", "port": map[string]any{"number": 80}}}}}
	mustCall(t, "chaosk8s.networking.actions.create_ingress", map[string]any{"spec_path": writeSpec(t, "ing.json", ing), "ns": ns})
	assert.Equal(t, true, mustCall(t, "chaosk8s.networking.probes.ingress_exists", map[string]any{"name": "web", "ns": ns}))
	mustCall(t, "chaosk8s.networking.actions.update_ingress", map[string]any{"name": "web", "ns": ns, "spec": map[string]any{"metadata": map[string]any{"labels": map[string]any{"v": "2"}}}})
	i, err := kube.cs.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2", i.Labels["v"])
	mustCall(t, "chaosk8s.networking.actions.delete_ingress", map[string]any{"name": "web", "ns": ns})
	assert.Equal(t, false, mustCall(t, "chaosk8s.networking.probes.ingress_exists", map[string]any{"name": "web", "ns": ns}))
}

func TestCustomObjects(t *testing.T) {
	ns := namespace(t)
	group := "ct" + rand.String(6) + ".chaostest.dev"
	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.%[1]s
spec:
  group: %[1]s
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`, group)
	out := mustCall(t, "chaosk8s.crd.actions.apply_from_yaml", map[string]any{"resource": crd})
	require.Len(t, out, 2)
	t.Cleanup(func() {
		for _, n := range []string{"widgets." + group, "gadgets." + group} {
			_ = kube.dyn.Resource(gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions")).Delete(context.Background(), n, metav1.DeleteOptions{})
		}
	})
	base := map[string]any{"group": group, "version": "v1", "plural": "widgets", "ns": ns}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	widget := map[string]any{"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": 1}}
	// the CRD takes a moment to be served: retry create (bounded) until it is
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, err = kcall(t, "chaosk8s.crd.actions.create_custom_object", with("resource", widget)); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, err)
	assert.Equal(t, "w1", out.(*jsonvalue.Object).Value("metadata").(*jsonvalue.Object).Value("name"))
	again := mustCall(t, "chaosk8s.crd.actions.create_custom_object", with("resource", widget)).(*jsonvalue.Object)
	assert.Equal(t, "AlreadyExists", again.Value("reason"), "409 returns the API's answer, as upstream")

	got := mustCall(t, "chaosk8s.crd.probes.get_custom_object", with("name", "w1")).(*jsonvalue.Object)
	assert.Equal(t, int64(1), got.Value("spec").(*jsonvalue.Object).Value("size"))
	mustCall(t, "chaosk8s.crd.actions.patch_custom_object", with("name", "w1", "resource", map[string]any{"spec": map[string]any{"color": "red"}}))
	replaced := mustCall(t, "chaosk8s.crd.actions.replace_custom_object", with("name", "w1", "resource", map[string]any{"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": 9}})).(*jsonvalue.Object)
	assert.Equal(t, int64(9), replaced.Value("spec").(*jsonvalue.Object).Value("size"))
	assert.Nil(t, replaced.Value("spec").(*jsonvalue.Object).Value("color"), "replace drops what the patch added")
	list := mustCall(t, "chaosk8s.crd.probes.list_custom_objects", base).([]any)
	assert.Len(t, list, 1)
	mustCall(t, "chaosk8s.crd.actions.delete_custom_object", with("name", "w1"))
	assert.Empty(t, mustCall(t, "chaosk8s.crd.probes.list_custom_objects", base))

	cbase := map[string]any{"group": group, "version": "v1", "plural": "gadgets"}
	cwith := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range cbase {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	gname := "g-" + strings.ToLower(rand.String(5))
	yamlFile := writeSpec(t, "gadget.yaml", map[string]any{"apiVersion": group + "/v1", "kind": "Gadget", "metadata": map[string]any{"name": gname}, "spec": map[string]any{"n": 1}})
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err = kcall(t, "chaosk8s.crd.actions.create_cluster_custom_object", cwith("resource_as_yaml_file", yamlFile)); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, err)
	mustCall(t, "chaosk8s.crd.actions.patch_cluster_custom_object", cwith("name", gname, "resource", map[string]any{"spec": map[string]any{"n": 2}}))
	assert.Equal(t, int64(2), mustCall(t, "chaosk8s.crd.probes.get_cluster_custom_object", cwith("name", gname)).(*jsonvalue.Object).Value("spec").(*jsonvalue.Object).Value("n"))
	mustCall(t, "chaosk8s.crd.actions.replace_cluster_custom_object", cwith("name", gname, "resource", map[string]any{"apiVersion": group + "/v1", "kind": "Gadget", "metadata": map[string]any{"name": gname}, "spec": map[string]any{"n": 3}}))
	assert.Len(t, mustCall(t, "chaosk8s.crd.probes.list_cluster_custom_objects", cbase), 1)
	mustCall(t, "chaosk8s.crd.actions.delete_cluster_custom_object", cwith("name", gname))

	// apply_from_json with a core object
	cm := fmt.Sprintf(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": %q}, "data": {"a": "1"}}`, ns)
	applied := mustCall(t, "chaosk8s.crd.actions.apply_from_json", map[string]any{"resource": cm}).(*jsonvalue.Object)
	assert.Equal(t, "cfg", applied.Value("metadata").(*jsonvalue.Object).Value("name"))
	_, err = kcall(t, "chaosk8s.crd.actions.create_custom_object", with())
	assert.EqualError(t, err, "Either `body_as_object` or `body_as_yaml_file` must be set")
}

func TestSystemNamespacesNeedTheConfigurationKey(t *testing.T) {
	_, err := kcall(t, "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=never-matches-anything", "ns": "kube-system"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-system'")
	out, err := kcallEnv(t, provider.Env{Configuration: map[string]any{AllowSystemNamespacesKey: true}}, "chaosk8s.pod.actions.terminate_pods",
		map[string]any{"label_selector": "app=never-matches-anything", "ns": "kube-system"})
	require.NoError(t, err)
	assert.Equal(t, []any{}, out)
}
