package chaosmesh

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

// splitter is an argument struct that returns its shared arguments itself (split).
type splitter interface {
	parts() (commonArgs, targetArgs)
}

// duplicateArgs are chaosk8s's duplicate_packets arguments.
type duplicateArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Duplicate                  any    `arg:"duplicate" default:"null"`
	Correlation                any    `arg:"correlation" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

func (a duplicateArgs) parts() (commonArgs, targetArgs) {
	return commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction},
		targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
}

// corruptArgs are chaosk8s's corrupt_packets arguments.
type corruptArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Corrupt                    any    `arg:"corrupt" default:"null"`
	Correlation                any    `arg:"correlation" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

func (a corruptArgs) parts() (commonArgs, targetArgs) {
	return commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction},
		targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
}

// reorderArgs are chaosk8s's reorder_packets arguments, and latency (chaostest's: reordering
// needs a delay).
type reorderArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Reorder                    any    `arg:"reorder" default:"null"`
	Correlation                any    `arg:"correlation" default:"null"`
	Gap                        any    `arg:"gap" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
	Latency                    any    `arg:"latency" default:"\"10ms\""`
}

func (a reorderArgs) parts() (commonArgs, targetArgs) {
	return commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction},
		targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
}

// gapOf reads reorder_packets's gap: a whole number of packets, given as a string (chaosk8s's
// type) or a number; absent means 0 (read as 1).
func gapOf(v any) (int64, error) {
	s := pyStrOpt(v)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("gap: %q is not a number of packets (0 or more)", s)
	}
	return n, nil
}

func init() {
	provider.Register(module+"actions.duplicate_packets", "Create a Chaos Mesh NetworkChaos that sends a share of the selected pods' packets twice (duplicate, correlation).", func(ctx context.Context, env provider.Env, a duplicateArgs) (any, error) {
		return createChance(ctx, env, a, "duplicate", a.Duplicate, a.Correlation)
	})
	provider.Register(module+"actions.corrupt_packets", "Create a Chaos Mesh NetworkChaos that flips one bit in a share of the selected pods' packets (corrupt, correlation).", func(ctx context.Context, env provider.Env, a corruptArgs) (any, error) {
		return createChance(ctx, env, a, "corrupt", a.Corrupt, a.Correlation)
	})
	provider.Register(module+"actions.reorder_packets", "Create a Chaos Mesh NetworkChaos (action delay with reorder) that delays the selected pods' packets by latency (chaostest's argument, default 10ms) and sends a share of them ahead (reorder, correlation, gap).", func(ctx context.Context, env provider.Env, a reorderArgs) (any, error) {
		gap, err := gapOf(a.Gap)
		if err != nil {
			return nil, err
		}
		r := map[string]any{"gap": gap}
		setStr(r, "reorder", a.Reorder)
		setStr(r, "correlation", a.Correlation)
		d := map[string]any{"reorder": r}
		setStr(d, "latency", a.Latency)
		spec := map[string]any{"action": "delay", "selector": map[string]any{}, "delay": d}
		c, t := split(a)
		return create(ctx, env, c, t, spec)
	})
}

// Gap sets reorder_packets's gap: at least n-1 packets are delayed between two sent ahead.
func Gap(n int) Option { return Arg("gap", strconv.Itoa(n)) }

// DuplicatePackets is chaosk8s.chaosmesh.network.actions.duplicate_packets: a NetworkChaos
// named name (action duplicate) that sends percent % of the selected pods' packets twice,
// optionally with Correlation. Select and narrow as for SetLoss; the rollback is
// DeleteNetworkFault(kube, name).
//
//	ct.Action("echoing-server", chaosmesh.DuplicatePackets(kube, "echo", 20, chaosmesh.In(ns), chaosmesh.Labels("app=server")))
//	ct.Rollback(chaosmesh.DeleteNetworkFault(kube, "echo", chaosmesh.In(ns)))
func DuplicatePackets(kube *k8s.Client, name string, percent float64, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "duplicate": strconv.FormatFloat(percent, 'f', -1, 64), "target_mode": nil}
	return activity(kube, module+"actions.duplicate_packets", args, opts)
}

// CorruptPackets is chaosk8s.chaosmesh.network.actions.corrupt_packets: a NetworkChaos named
// name (action corrupt) that flips one bit in percent % of the selected pods' packets (in the
// transport segment: the receiver's checksum rejects them), optionally with Correlation. Select
// and narrow as for SetLoss; the rollback is DeleteNetworkFault(kube, name).
func CorruptPackets(kube *k8s.Client, name string, percent float64, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "corrupt": strconv.FormatFloat(percent, 'f', -1, 64), "target_mode": nil}
	return activity(kube, module+"actions.corrupt_packets", args, opts)
}

// ReorderPackets is chaosk8s.chaosmesh.network.actions.reorder_packets: a NetworkChaos named
// name (action delay with spec.delay.reorder) that delays the selected pods' packets by latency
// and sends percent % of them at once instead, ahead of the delayed ones (netem's reorder;
// Gap and Correlation tune it). Select and narrow as for SetLoss; the rollback is
// DeleteNetworkFault(kube, name).
//
//	ct.Action("shuffled", chaosmesh.ReorderPackets(kube, "shuffle", 25, 20*time.Millisecond, chaosmesh.Gap(5), chaosmesh.In(ns), chaosmesh.Labels("app=server")))
func ReorderPackets(kube *k8s.Client, name string, percent float64, latency time.Duration, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "reorder": strconv.FormatFloat(percent, 'f', -1, 64), "latency": latency.String(), "target_mode": nil}
	return activity(kube, module+"actions.reorder_packets", args, opts)
}
