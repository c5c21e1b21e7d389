package chaosmesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/provider"
)

// The chaosk8s signatures of chaosk8s.chaosmesh.stress (../shared/docs/chaosk8s-signatures.txt).
var stressSignatures = map[string][]string{
	"chaosk8s.chaosmesh.stress.actions.stress_cpu": {"name", "workers", "load", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors",
		"mode", "mode_value", "direction", "duration", "container_names", "stressng_stressors"},
	"chaosk8s.chaosmesh.stress.actions.stress_memory": {"name", "workers", "size", "oom_score", "time_to_get_to_size", "ns", "namespaces_selectors",
		"label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "duration", "container_names", "stressng_stressors"},
	"chaosk8s.chaosmesh.stress.actions.delete_stressor": {"name", "ns"},
	"chaosk8s.chaosmesh.stress.probes.get_stressor":     {"name", "ns"},
	"chaosk8s.chaosmesh.stress.probes.get_stressors":    {"ns"},
}

func TestStressSignaturesMatchChaosk8s(t *testing.T) {
	for name, want := range stressSignatures {
		f, ok := provider.LookupFunc(name)
		require.True(t, ok, name)
		var got []string
		defaults := map[string]any{}
		for _, a := range f.Args {
			got = append(got, a.Name)
			defaults[a.Name] = a.Default
		}
		assert.Equal(t, want, got, name)
		if _, ok := defaults["duration"]; ok {
			assert.Equal(t, "30s", defaults["duration"], name)
			assert.Equal(t, "one", defaults["mode"], name)
			assert.Equal(t, "to", defaults["direction"], name)
		}
	}
	f, _ := provider.LookupFunc("chaosk8s.chaosmesh.stress.actions.stress_cpu")
	assert.True(t, f.Args[0].Required && f.Args[1].Required && f.Args[2].Required, "name, workers and load are required")
	assert.False(t, f.Args[3].Required)
}

// The spec built from chaosk8s's arguments is the one chaosk8s's stress_memory builds (its
// test: namespaces "default,other", labels "a=b,c=d", annotations "h=5,u=8", workers 1,
// size "25%", containers "a,b"), without what the API server drops: the nulls chaosk8s
// writes, and direction, which StressChaos does not have.
func TestStressSpecLikeChaosk8s(t *testing.T) {
	spec, err := stressSpec(commonArgs{Name: "hello", NS: "other", NamespacesSelectors: "default,other", LabelSelectors: "a=b,c=d",
		AnnotationsSelectors: "h=5,u=8", Mode: "one", Direction: "to"},
		map[string]any{"memory": map[string]any{"workers": int64(1), "size": "25%"}}, "30s", "a,b", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"selector": map[string]any{"namespaces": []any{"default", "other"}, "labelSelectors": map[string]any{"a": "b", "c": "d"},
			"annotationSelectors": map[string]any{"h": "5", "u": "8"}},
		"stressors":      map[string]any{"memory": map[string]any{"workers": int64(1), "size": "25%"}},
		"mode":           "one",
		"duration":       "30s",
		"containerNames": []any{"a", "b"},
	}, spec)
	spec, err = stressSpec(commonArgs{Name: "c", NS: "x", LabelSelectors: map[string]any{"app": "web"}, Mode: "fixed-percent", ModeValue: 50.0, Direction: "to"},
		map[string]any{"cpu": map[string]any{"workers": int64(2), "load": int64(50)}}, nil, []any{"app"}, "--cpu 2")
	require.NoError(t, err)
	assert.Equal(t, "50", spec["value"])
	assert.Nil(t, spec["duration"], "duration null: none")
	assert.Equal(t, []any{"app"}, spec["containerNames"])
	assert.Equal(t, "--cpu 2", spec["stressngStressors"])
}
