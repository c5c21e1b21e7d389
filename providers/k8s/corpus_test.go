package k8s

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/provider"
)

// TestCorpusKubernetesProvidersResolve checks that every chaosk8s provider named by the real
// experiments in testdata/corpus (the seed's greeter experiment included) is registered and
// accepts the arguments the file gives.
func TestCorpusKubernetesProvidersResolve(t *testing.T) {
	files, err := filepath.Glob("../../testdata/corpus/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := 0
	for _, f := range files {
		if strings.Contains(f, "INVALID") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc any
		require.NoError(t, json.Unmarshal(data, &doc), f)
		walkProviders(doc, func(p map[string]any) {
			mod, _ := p["module"].(string)
			if p["type"] != "python" || !strings.HasPrefix(mod, "chaosk8s") {
				return
			}
			seen++
			name := mod + "." + p["func"].(string)
			fn, ok := provider.LookupFunc(name)
			if !assert.True(t, ok, "%s: %s is not registered", filepath.Base(f), name) {
				return
			}
			args, _ := p["arguments"].(map[string]any)
			assert.NoError(t, fn.CheckArgs(args), "%s: %s", filepath.Base(f), name)
		})
	}
	assert.GreaterOrEqual(t, seen, 10, "the corpus names at least ten chaosk8s providers")
}

func walkProviders(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["module"]; ok {
			fn(x)
		}
		for _, e := range x {
			walkProviders(e, fn)
		}
	case []any:
		for _, e := range x {
			walkProviders(e, fn)
		}
	}
}
