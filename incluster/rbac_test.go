package incluster

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	_ "github.com/chaostest/chaostest/providers/chaosmesh"
	"github.com/chaostest/chaostest/providers/k8s"
)

// Every Kubernetes function chaostest registers has an entry in the table: a new provider
// function cannot be used in-cluster with a role that silently lacks its permissions.
func TestTableCoversEveryKubernetesFunction(t *testing.T) {
	known := map[string]bool{}
	for _, n := range KnownFuncs() {
		known[n] = true
	}
	names := k8s.Names()
	require.Greater(t, len(names), 80)
	for _, f := range provider.Funcs() {
		if strings.HasPrefix(f.Name, "chaosk8s.chaosmesh.") || strings.HasPrefix(f.Name, "chaostest.chaosmesh.") {
			names = append(names, f.Name)
		}
	}
	for _, n := range names {
		require.True(t, known[n], "no RBAC entry for %s", n)
	}
	for _, n := range KnownFuncs() {
		e := table[n]
		for _, r := range append(append([]rbacv1.PolicyRule{}, e.ns...), e.cluster...) {
			require.NotEmpty(t, r.Verbs, n)
			require.NotEmpty(t, r.Resources, n)
			for _, v := range r.Verbs {
				require.NotContains(t, []string{"*", "escalate", "bind", "impersonate"}, v, n)
			}
		}
	}
}

func loadExp(t *testing.T, text string) *jsonvalue.Object {
	t.Helper()
	dir := t.TempDir()
	p := dir + "/e.json"
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	exp, err := engine.Load(p)
	require.NoError(t, err)
	return exp.Object()
}

func noResolve(s string) (string, error) { panic("no reference expected in " + s) }

// The seed experiment (greeter) needs to list pods, delete them and read their logs in
// "default", and nothing else.
func TestDeriveSeedExperiment(t *testing.T) {
	exp, err := engine.Load("../examples/greeter/testdata/experiment.json")
	require.NoError(t, err)
	p, err := Derive(exp.Object(), noResolve)
	require.NoError(t, err)
	require.Equal(t, []string{"default"}, p.Namespaces())
	require.Equal(t, []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	}, p.Namespaced["default"])
	require.Empty(t, p.Cluster)
}

func TestDeriveNamespacesClusterRulesAndCustomObjects(t *testing.T) {
	exp := loadExp(t, `{"title": "t", "description": "d",
	  "configuration": {"target_ns": "shop"},
	  "steady-state-hypothesis": {"title": "h", "probes": [
	    {"type": "probe", "name": "nodes", "tolerance": true, "provider": {"type": "python", "module": "chaosk8s.node.probes", "func": "all_nodes_must_be_ready_to_schedule"}},
	    {"type": "probe", "name": "web", "tolerance": 200, "provider": {"type": "http", "url": "http://127.0.0.1:1/"}}]},
	  "method": [
	    {"type": "action", "name": "scale", "provider": {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment", "arguments": {"name": "web", "replicas": 0, "ns": "${target_ns}"}}},
	    {"type": "probe", "name": "widget", "provider": {"type": "python", "module": "chaosk8s.crd.probes", "func": "get_custom_object", "arguments": {"group": "example.com", "version": "v1", "plural": "widgets", "name": "w", "ns": "shop"}}},
	    {"type": "action", "name": "p", "provider": {"type": "process", "path": "true"}}],
	  "rollbacks": [
	    {"type": "action", "name": "unscale", "provider": {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment", "arguments": {"name": "web", "replicas": 1, "ns": "${target_ns}"}}}]}`)
	cfg, _ := exp.Value("configuration").(*jsonvalue.Object)
	resolve := func(s string) (string, error) {
		return strings.ReplaceAll(s, "${target_ns}", cfg.Value("target_ns").(string)), nil
	}
	p, err := Derive(exp, resolve)
	require.NoError(t, err)
	require.Equal(t, []string{"shop"}, p.Namespaces())
	require.Equal(t, []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}},
	}, p.Namespaced["shop"])
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}}}, p.Cluster)
}

func TestDeriveRefusesWhatItCannotKnow(t *testing.T) {
	exp := loadExp(t, `{"title": "t", "description": "d", "method": [
	    {"type": "action", "name": "apply", "provider": {"type": "python", "module": "chaosk8s.crd.actions", "func": "apply_from_yaml", "arguments": {"resource": "kind: Pod"}}}]}`)
	_, err := Derive(exp, noResolve)
	require.ErrorContains(t, err, `activity "apply"`)
	require.ErrorContains(t, err, "--service-account")

	exp = loadExp(t, `{"title": "t", "description": "d", "method": [
	    {"type": "action", "name": "mine", "provider": {"type": "python", "module": "mypkg.actions", "func": "break_it"}}]}`)
	_, err = Derive(exp, noResolve)
	require.ErrorContains(t, err, "the API permissions of mypkg.actions.break_it are not known")

	exp = loadExp(t, `{"title": "t", "description": "d", "method": [
	    {"type": "action", "name": "kill", "provider": {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods", "arguments": {"label_selector": "a=b", "ns": "${where}"}}}]}`)
	_, err = Derive(exp, func(s string) (string, error) { return "", os.ErrNotExist })
	require.ErrorContains(t, err, `activity "kill": argument "ns" of chaosk8s.pod.actions.terminate_pods`)
}
