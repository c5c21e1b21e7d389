package chaosmesh

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

// chaosk8s's signatures of the netem functions (../shared/docs/chaosk8s-signatures.txt);
// reorder_packets has one more, latency, last.
var netemSignatures = map[string][]string{
	"chaosk8s.chaosmesh.network.actions.duplicate_packets": {"name", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "duplicate", "correlation", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors"},
	"chaosk8s.chaosmesh.network.actions.corrupt_packets":   {"name", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "corrupt", "correlation", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors"},
	"chaosk8s.chaosmesh.network.actions.reorder_packets":   {"name", "ns", "namespaces_selectors", "label_selectors", "annotations_selectors", "mode", "mode_value", "direction", "reorder", "correlation", "gap", "external_targets", "target_mode", "target_mode_value", "target_namespaces_selectors", "target_label_selectors", "target_annotations_selectors", "latency"},
}

func TestNetemSignatures(t *testing.T) {
	for name, want := range netemSignatures {
		f, ok := provider.LookupFunc(name)
		require.True(t, ok, name)
		var got []string
		for _, a := range f.Args {
			got = append(got, a.Name)
			if a.Name == "latency" {
				assert.Equal(t, "10ms", a.Default)
			}
		}
		assert.Equal(t, want, got, name)
	}
}

func TestNetemRefusals(t *testing.T) {
	kube, err := k8s.FromREST(&rest.Config{Host: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ctx := context.WithValue(context.Background(), ctxKey{}, &settings{client: kube})
	f, _ := provider.LookupFunc("chaosk8s.chaosmesh.network.actions.reorder_packets")
	_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "label_selectors": "a=b", "reorder": "10", "gap": "two"})
	assert.EqualError(t, err, `gap: "two" is not a number of packets (0 or more)`)
	for _, fn := range []string{"duplicate_packets", "corrupt_packets"} {
		f, _ := provider.LookupFunc("chaosk8s.chaosmesh.network.actions." + fn)
		_, err = f.Call(ctx, provider.Env{}, map[string]any{"name": "x", "ns": "demo"})
		assert.ErrorContains(t, err, "refusing to select every pod of namespace 'demo'", fn)
	}
	n, err := gapOf(5.0)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
}

func TestNetemGoAPI(t *testing.T) {
	for _, c := range []struct {
		a          interface{ Object() *jsonvalue.Object }
		fn, k, val string
	}{
		{DuplicatePackets(nil, "dup", 12.5, In("demo"), Labels("app=server")), "duplicate_packets", "duplicate", "12.5"},
		{CorruptPackets(nil, "cor", 3, In("demo"), Labels("app=server"), Correlation(25)), "corrupt_packets", "correlation", "25"},
		{ReorderPackets(nil, "re", 25, 20*time.Millisecond, Gap(5), Labels("app=server")), "reorder_packets", "gap", "5"},
		{ReorderPackets(nil, "re", 25, 20*time.Millisecond), "reorder_packets", "latency", "20ms"},
	} {
		prov := c.a.Object().Value("provider").(*jsonvalue.Object)
		assert.Equal(t, c.fn, prov.Value("func"))
		assert.Equal(t, c.val, prov.Value("arguments").(*jsonvalue.Object).Value(c.k), c.fn)
	}
}
