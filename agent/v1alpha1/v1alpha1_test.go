package v1alpha1

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The object chaosk8s's set_loss builds, as JSON: it must decode into the served subset.
const chaosk8sLoss = `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"NetworkChaos",
 "metadata":{"name":"l1","namespace":"demo"},
 "spec":{"action":"loss","selector":{"labelSelectors":{"app":"server"}},"loss":{"loss":"25"},
  "direction":"to","mode":"one","target":{"mode":"one","selector":{}}}}`

func TestDecodeChaosk8sObject(t *testing.T) {
	var nc NetworkChaos
	require.NoError(t, json.Unmarshal([]byte(chaosk8sLoss), &nc))
	assert.Equal(t, LossAction, nc.Spec.Action)
	assert.Equal(t, map[string]string{"app": "server"}, nc.Spec.Selector.LabelSelectors)
	assert.Equal(t, OneMode, nc.Spec.Mode)
	require.NotNil(t, nc.Spec.Target)
	assert.Equal(t, OneMode, nc.Spec.Target.Mode)
	require.NoError(t, nc.Spec.Check())
	out, err := json.Marshal(nc.Spec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"action":"loss","selector":{"labelSelectors":{"app":"server"}},"loss":{"loss":"25"},
	 "direction":"to","mode":"one","target":{"mode":"one","selector":{}}}`, string(out))
}

func TestCheck(t *testing.T) {
	base := func() NetworkChaosSpec {
		return NetworkChaosSpec{PodSelector: PodSelector{Mode: AllMode, Selector: PodSelectorSpec{LabelSelectors: map[string]string{"a": "b"}}},
			Action: PartitionAction, Direction: To}
	}
	dur := "bad"
	cases := []struct {
		name   string
		mod    func(*NetworkChaosSpec)
		msg    string
		unsupp bool
	}{
		{"delay missing", func(s *NetworkChaosSpec) { s.Action = DelayAction }, `spec.delay: required for action delay`, false},
		{"delay latency", func(s *NetworkChaosSpec) { s.Action = DelayAction; s.Delay = &DelaySpec{Latency: "10"} }, `spec.delay.latency "10": a duration such as "100ms" or "2s" is required`, false},
		{"delay no latency", func(s *NetworkChaosSpec) { s.Action = DelayAction; s.Delay = &DelaySpec{Jitter: "1ms"} }, `spec.delay.latency ""`, false},
		{"delay jitter", func(s *NetworkChaosSpec) { s.Action = DelayAction; s.Delay = &DelaySpec{Latency: "1s", Jitter: "-2ms"} }, `spec.delay.jitter "-2ms"`, false},
		{"delay correlation", func(s *NetworkChaosSpec) {
			s.Action = DelayAction
			s.Delay = &DelaySpec{Latency: "1s", Correlation: "150"}
		}, `spec.delay.correlation: "150" is not a percentage`, false},
		{"delay too long", func(s *NetworkChaosSpec) { s.Action = DelayAction; s.Delay = &DelaySpec{Latency: "2m"} }, `must each be at most 1m0s`, false},
		{"reorder bad", func(s *NetworkChaosSpec) {
			s.Action = DelayAction
			s.Delay = &DelaySpec{Latency: "1s", Reorder: &ReorderSpec{Reorder: "x"}}
		}, `spec.delay.reorder.reorder: "x" is not a percentage`, false},
		{"reorder correlation", func(s *NetworkChaosSpec) {
			s.Action = DelayAction
			s.Delay = &DelaySpec{Latency: "1s", Reorder: &ReorderSpec{Reorder: "5", Correlation: "-1"}}
		}, `spec.delay.reorder.correlation: "-1" is not a percentage`, false},
		{"reorder gap", func(s *NetworkChaosSpec) {
			s.Action = DelayAction
			s.Delay = &DelaySpec{Latency: "1s", Reorder: &ReorderSpec{Reorder: "5", Gap: -2}}
		}, `spec.delay.reorder.gap -2: must be 0 or more`, false},
		{"reorder without latency", func(s *NetworkChaosSpec) {
			s.Action = DelayAction
			s.Delay = &DelaySpec{Latency: "0s", Reorder: &ReorderSpec{Reorder: "5"}}
		}, `spec.delay.reorder: reordering needs a latency above 0`, false},
		{"duplicate missing", func(s *NetworkChaosSpec) { s.Action = DuplicateAction }, `spec.duplicate: required for action duplicate`, false},
		{"duplicate bad", func(s *NetworkChaosSpec) { s.Action, s.Duplicate = DuplicateAction, &DuplicateSpec{Duplicate: "200"} }, `spec.duplicate.duplicate: "200" is not a percentage`, false},
		{"corrupt missing", func(s *NetworkChaosSpec) { s.Action = CorruptAction }, `spec.corrupt: required for action corrupt`, false},
		{"corrupt correlation", func(s *NetworkChaosSpec) {
			s.Action, s.Corrupt = CorruptAction, &CorruptSpec{Corrupt: "10", Correlation: "abc"}
		}, `spec.corrupt.correlation: "abc" is not a percentage`, false},
		{"netem", func(s *NetworkChaosSpec) { s.Action = NetemAction }, `spec.action "netem": not supported by the chaostest agent yet (served: loss, partition, delay, bandwidth, duplicate, corrupt)`, true},
		{"bandwidth missing", func(s *NetworkChaosSpec) { s.Action = BandwidthAction }, `spec.bandwidth: required for action bandwidth`, false},
		{"bandwidth rate", func(s *NetworkChaosSpec) {
			s.Action, s.Bandwidth = BandwidthAction, &BandwidthSpec{Rate: "fast", Limit: 1, Buffer: 1}
		}, `spec.bandwidth.rate: "fast" is not a rate`, false},
		{"bandwidth limit", func(s *NetworkChaosSpec) {
			s.Action, s.Bandwidth = BandwidthAction, &BandwidthSpec{Rate: "1mbps", Buffer: 1}
		}, `spec.bandwidth.limit: required`, false},
		{"bandwidth buffer", func(s *NetworkChaosSpec) {
			s.Action, s.Bandwidth = BandwidthAction, &BandwidthSpec{Rate: "1mbps", Limit: 1}
		}, `spec.bandwidth.buffer: required`, false},
		{"bandwidth from", func(s *NetworkChaosSpec) {
			s.Action, s.Bandwidth, s.Direction = BandwidthAction, &BandwidthSpec{Rate: "1mbps", Limit: 1, Buffer: 1}, From
		}, `spec.direction "from": a bandwidth limit on direction other than "to" is not supported`, true},
		{"bandwidth target", func(s *NetworkChaosSpec) {
			s.Action, s.Bandwidth, s.ExternalTargets = BandwidthAction, &BandwidthSpec{Rate: "1mbps", Limit: 1, Buffer: 1}, []string{"10.0.0.1"}
		}, `a bandwidth limit restricted to peers is not supported`, true},
		{"no action", func(s *NetworkChaosSpec) { s.Action = "" }, "spec.action: required", false},
		{"unknown action", func(s *NetworkChaosSpec) { s.Action = "boom" }, `spec.action "boom": unknown`, false},
		{"loss missing", func(s *NetworkChaosSpec) { s.Action = LossAction }, "spec.loss: required for action loss", false},
		{"loss bad", func(s *NetworkChaosSpec) { s.Action = LossAction; s.Loss = &LossSpec{Loss: "120"} }, `spec.loss.loss: "120" is not a percentage from 0 to 100`, false},
		{"loss correlation", func(s *NetworkChaosSpec) { s.Action = LossAction; s.Loss = &LossSpec{Loss: "5", Correlation: "25"} }, `spec.loss.correlation "25": correlated loss is not supported`, true},
		{"direction", func(s *NetworkChaosSpec) { s.Direction = "up" }, `spec.direction "up": must be to, from or both`, false},
		{"duration", func(s *NetworkChaosSpec) { s.Duration = &dur }, `spec.duration: "bad" is not a positive duration`, false},
		{"device", func(s *NetworkChaosSpec) { s.Device = "eth1" }, `spec.device "eth1": not supported`, true},
		{"mode", func(s *NetworkChaosSpec) { s.Mode = "most" }, `spec.mode "most": must be one, all`, false},
		{"fixed value", func(s *NetworkChaosSpec) { s.Mode = FixedMode; s.Value = "x" }, `spec.value "x": mode fixed needs a number`, false},
		{"percent value", func(s *NetworkChaosSpec) { s.Mode = FixedPercentMode; s.Value = "101" }, `spec.value "101": mode fixed-percent needs a whole percentage from 0 to 100`, false},
		{"target mode", func(s *NetworkChaosSpec) { s.Target = &PodSelector{Mode: "x"} }, `spec.target.mode "x"`, false},
		{"node selector", func(s *NetworkChaosSpec) { s.Selector.Nodes = []string{"n"} }, `spec.selector.nodes: not supported`, true},
		{"hostname target", func(s *NetworkChaosSpec) { s.ExternalTargets = []string{"example.org"} }, `spec.externalTargets[0]: "example.org": only IPv4 addresses and CIDRs are served`, true},
		{"partition reject", func(s *NetworkChaosSpec) { s.PartitionBehavior = "reject" }, `spec.partitionBehavior "reject"`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.mod(&s)
			err := s.Check()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
			assert.Equal(t, c.unsupp, errors.Is(err, ErrNotSupported), "wraps ErrNotSupported")
		})
	}
	ok := base()
	ok.ExternalTargets = []string{"10.0.0.1", "10.1.0.0/16"}
	require.NoError(t, ok.Check())
	ok.Action, ok.Delay = DelayAction, &DelaySpec{Latency: "100ms", Jitter: "10ms", Correlation: "25"}
	require.NoError(t, ok.Check())
	d, err := ParseDelay(ok.Delay)
	require.NoError(t, err)
	assert.Equal(t, Delay{Latency: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Correlation: 25}, d)

	ok.Delay.Reorder = &ReorderSpec{Reorder: "25", Correlation: "50", Gap: 0}
	require.NoError(t, ok.Check())
	d, err = ParseDelay(ok.Delay)
	require.NoError(t, err)
	assert.Equal(t, &Chance{Percent: 25, Correlation: 50}, d.Reorder)
	assert.Equal(t, 1, d.Gap, "gap 0 reads as 1, as tc does")

	dup := base()
	dup.Action, dup.Duplicate = DuplicateAction, &DuplicateSpec{Duplicate: "30", Correlation: "5"}
	require.NoError(t, dup.Check())
	c, err := ParseDuplicate(dup.Duplicate)
	require.NoError(t, err)
	assert.Equal(t, Chance{Percent: 30, Correlation: 5}, c)
	cor := base()
	cor.Action, cor.Corrupt = CorruptAction, &CorruptSpec{Corrupt: "0.5"}
	require.NoError(t, cor.Check())
	c, err = ParseCorrupt(cor.Corrupt)
	require.NoError(t, err)
	assert.Equal(t, Chance{Percent: 0.5}, c)

	bw := base()
	bw.Action, bw.Bandwidth = BandwidthAction, &BandwidthSpec{Rate: "1mbps", Limit: 20971520, Buffer: 10000}
	require.NoError(t, bw.Check())
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{"1mbps": 1_000_000, "8mbit": 1_000_000, "100kbit": 12_500, "2.5kbps": 2_500, " 1GBPS ": 1_000_000_000, "800bit": 100, "10bps": 10} {
		got, err := ParseRate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "1", "mbps", "-1mbps", "1 furlongs", "0kbit", "1bit"} {
		_, err := ParseRate(bad)
		assert.ErrorContains(t, err, "is not a rate", bad)
	}
}

func TestParseTarget(t *testing.T) {
	n, err := ParseTarget("10.245.0.7")
	require.NoError(t, err)
	assert.Equal(t, "10.245.0.7/32", n.String())
	n, err = ParseTarget("10.245.0.0/24")
	require.NoError(t, err)
	assert.Equal(t, "10.245.0.0/24", n.String())
	_, err = ParseTarget("::1")
	assert.ErrorIs(t, err, ErrNotSupported)
}

func TestCRDIsStructural(t *testing.T) {
	crd := CRD()
	assert.Equal(t, CRDName, crd.GetName())
	assert.Equal(t, "chaostest", crd.GetLabels()[ManagedByLabel])
	versions, _, _ := unstructuredSlice(crd.Object, "spec", "versions")
	require.Len(t, versions, 1)
	v := versions[0].(map[string]any)
	schema := v["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	spec := schema["properties"].(map[string]any)["spec"].(map[string]any)
	target := spec["properties"].(map[string]any)["target"].(map[string]any)
	sel := target["properties"].(map[string]any)["selector"].(map[string]any)
	assert.Equal(t, "object", sel["type"], "the YAML alias of the selector schema was expanded")
	assert.Equal(t, map[string]any{"status": map[string]any{}}, v["subresources"])
}

func unstructuredSlice(m map[string]any, path ...string) ([]any, bool, error) {
	var cur any = m
	for _, p := range path {
		cur = cur.(map[string]any)[p]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}
