package chaosmesh

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

// The chaosk8s signatures, argument names in order (../shared/docs/chaosk8s-signatures.txt).
var signatures = map[string][]string{
	"chaosk8s.chaosmesh.network.actions.set_loss":             {"name", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "loss", "correlation", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors"},
	"chaosk8s.chaosmesh.network.actions.add_latency":          {"name", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "latency", "correlation", "jitter", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors"},
	"chaosk8s.chaosmesh.network.actions.delete_network_fault": {"name", "ns"},
	"chaosk8s.chaosmesh.network.actions.set_bandwidth":        {"name", "rate", "limit", "buffer", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "peakrate", "minburst", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors"},
	"chaosk8s.chaosmesh.network.probes.get_network_fault":     {"name", "ns"},
	"chaosk8s.chaosmesh.network.probes.get_network_faults":    {"ns"},
}

func TestSignaturesMatchChaosk8s(t *testing.T) {
	for name, want := range signatures {
		f, ok := provider.LookupFunc(name)
		require.True(t, ok, name)
		var got []string
		for _, a := range f.Args {
			got = append(got, a.Name)
		}
		assert.Equal(t, want, got, name)
	}
	f, ok := provider.LookupFunc("chaosk8s.chaosmesh.network.actions.set_loss")
	require.True(t, ok)
	defaults := map[string]any{}
	for _, a := range f.Args {
		defaults[a.Name] = a.Default
	}
	assert.Equal(t, "default", defaults["ns"])
	assert.Equal(t, "one", defaults["mode"])
	assert.Equal(t, "to", defaults["direction"])
	assert.Equal(t, "one", defaults["target_mode"])
	assert.True(t, f.Args[0].Required, "name is required")
}

// The spec built from chaosk8s's arguments is the object chaosk8s's add_common_spec builds.
func TestBuildSpecLikeChaosk8s(t *testing.T) {
	spec := map[string]any{"action": "loss", "selector": map[string]any{}, "loss": map[string]any{"loss": "25"}}
	require.NoError(t, buildSpec(
		commonArgs{Name: "x", NS: "demo", NamespacesSelectors: "a,b", LabelSelectors: "app=server,tier=back", Mode: "fixed-percent", ModeValue: "50", Direction: "both"},
		targetArgs{TargetMode: "fixed", TargetModeValue: 2.0, TargetLabelSelectors: map[string]any{"app": "client"}, ExternalTargets: "10.0.0.1,10.1.0.0/16"}, spec))
	assert.Equal(t, map[string]any{
		"action": "loss", "direction": "both", "mode": "fixed-percent", "value": "50",
		"selector":        map[string]any{"namespaces": []any{"a", "b"}, "labelSelectors": map[string]any{"app": "server", "tier": "back"}},
		"loss":            map[string]any{"loss": "25"},
		"externalTargets": []any{"10.0.0.1", "10.1.0.0/16"},
		"target":          map[string]any{"mode": "fixed", "value": "2", "selector": map[string]any{"labelSelectors": map[string]any{"app": "client"}}},
	}, spec)

	// chaosk8s's defaults: mode one, direction to, a target of one pod with an empty selector.
	spec = map[string]any{"selector": map[string]any{}}
	require.NoError(t, buildSpec(commonArgs{Mode: "one", Direction: "to", LabelSelectors: "app=a"}, targetArgs{TargetMode: "one"}, spec))
	assert.Equal(t, map[string]any{"mode": "one", "selector": map[string]any{}}, spec["target"])
	assert.NotContains(t, spec, "value")

	err := buildSpec(commonArgs{LabelSelectors: "app"}, targetArgs{}, map[string]any{"selector": map[string]any{}})
	assert.EqualError(t, err, `label_selectors: "app" is not key=value`)
	err = buildSpec(commonArgs{LabelSelectors: 3.0}, targetArgs{}, map[string]any{"selector": map[string]any{}})
	assert.ErrorContains(t, err, "label_selectors: expected a string")
}

// Safety refusals happen before the cluster is asked anything: the client points at a closed
// port.
func TestSafetyRefusals(t *testing.T) {
	kube, err := k8s.FromREST(&rest.Config{Host: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ctx := context.WithValue(context.Background(), ctxKey{}, &settings{client: kube})
	f, _ := provider.LookupFunc("chaosk8s.chaosmesh.network.actions.set_loss")
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "ns": "demo", "loss": "10"})
	assert.EqualError(t, err, "refusing to select every pod of namespace 'demo': give label_selectors or annotations_selectors (chaostest never reads an empty selector as every pod)")
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "ns": "kube-system", "label_selectors": "a=b", "loss": "10"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-system'")
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "ns": "demo", "namespaces_selectors": "kube-public", "label_selectors": "a=b", "loss": "10"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-public'")
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "label_selectors": "a=b", "loss": "10", "bogus": 1})
	assert.EqualError(t, err, "argument 'bogus' is not part of the function signature in activity 'set_loss'")
	// With the checks passed, the cluster is asked: the error says which call failed.
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "ns": "demo", "label_selectors": "a=b", "loss": "10"})
	assert.ErrorContains(t, err, "reading the CRD networkchaos.chaos-mesh.org")
}

func TestLeaseSetting(t *testing.T) {
	assert.Equal(t, DefaultLease, leaseOf(context.Background(), provider.Env{}))
	assert.Equal(t, 4500*1e6, float64(leaseOf(context.Background(), provider.Env{Configuration: map[string]any{LeaseKey: 4.5}})))
	assert.Equal(t, 7e9, float64(leaseOf(context.Background(), provider.Env{Configuration: map[string]any{LeaseKey: "7"}})))
	ctx := context.WithValue(context.Background(), ctxKey{}, &settings{lease: 3e9})
	assert.Equal(t, 3e9, float64(leaseOf(ctx, provider.Env{Configuration: map[string]any{LeaseKey: "7"}})))
}

func TestGoAPIJournalsThePythonProvider(t *testing.T) {
	a := SetLoss(nil, "lossy", 12.5, In("demo"), Labels("app=server"), All(), Direction("both"))
	prov := a.Object().Value("provider").(*jsonvalue.Object)
	assert.Equal(t, "python", prov.Value("type"))
	assert.Equal(t, "chaosk8s.chaosmesh.network.actions", prov.Value("module"))
	assert.Equal(t, "set_loss", prov.Value("func"))
	args := prov.Value("arguments").(*jsonvalue.Object)
	assert.Equal(t, "12.5", args.Value("loss"))
	assert.Equal(t, "all", args.Value("mode"))
	assert.Equal(t, "both", args.Value("direction"))
	assert.Equal(t, "app=server", args.Value("label_selectors"))
}

// set_bandwidth refuses a limit or buffer that is not a positive number of bytes, naming them,
// before it reaches any cluster.
func TestSetBandwidthRefusesBadSizes(t *testing.T) {
	f, ok := provider.LookupFunc("chaosk8s.chaosmesh.network.actions.set_bandwidth")
	require.True(t, ok)
	_, err := f.Call(context.Background(), provider.Env{}, map[string]any{"name": "x", "rate": "1mbps", "limit": 0.0, "buffer": 10000.0, "label_selectors": "app=a"})
	assert.ErrorContains(t, err, "limit (0) and buffer (10000): both must be a positive number of bytes")
	_, err = f.Call(context.Background(), provider.Env{}, map[string]any{"name": "x", "rate": "1mbps", "limit": 10.0})
	assert.ErrorContains(t, err, "buffer", "buffer is required")
}
