package chaosmesh

// chaosk8s.chaosmesh.stress: stress_cpu, stress_memory, delete_stressor, get_stressor(s), as
// chaosk8s has them, creating Chaos Mesh StressChaos objects. On a cluster served by
// chaostest's agent the same rules as for the network functions hold: the spec is checked
// before anything is created (stress-ng options and stressngStressors are refused), and the
// object gets a lease this process renews. A memory size is required (Chaos Mesh would take all
// the node's memory).

import (
	"context"
	"strings"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

const stressModule = "chaosk8s.chaosmesh.stress."

type stressCPUArgs struct {
	Name                 string `arg:"name"`
	Workers              int    `arg:"workers"`
	Load                 int    `arg:"load"`
	NS                   string `arg:"ns" default:"\"default\""`
	NamespacesSelectors  any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors       any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors any    `arg:"annotations_selectors" default:"null"`
	Mode                 string `arg:"mode" default:"\"one\""`
	ModeValue            any    `arg:"mode_value" default:"null"`
	Direction            string `arg:"direction" default:"\"to\""`
	Duration             any    `arg:"duration" default:"\"30s\""`
	ContainerNames       any    `arg:"container_names" default:"null"`
	StressngStressors    any    `arg:"stressng_stressors" default:"null"`
}

type stressMemoryArgs struct {
	Name                 string `arg:"name"`
	Workers              *int   `arg:"workers" default:"null"`
	Size                 any    `arg:"size" default:"null"`
	OOMScore             *int   `arg:"oom_score" default:"null"`
	TimeToGetToSize      any    `arg:"time_to_get_to_size" default:"null"`
	NS                   string `arg:"ns" default:"\"default\""`
	NamespacesSelectors  any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors       any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors any    `arg:"annotations_selectors" default:"null"`
	Mode                 string `arg:"mode" default:"\"one\""`
	ModeValue            any    `arg:"mode_value" default:"null"`
	Direction            string `arg:"direction" default:"\"to\""`
	Duration             any    `arg:"duration" default:"\"30s\""`
	ContainerNames       any    `arg:"container_names" default:"null"`
	StressngStressors    any    `arg:"stressng_stressors" default:"null"`
}

func init() {
	provider.Register(stressModule+"actions.stress_cpu", "Create a Chaos Mesh StressChaos that loads the CPU of the selected containers (workers at load percent each).", func(ctx context.Context, env provider.Env, a stressCPUArgs) (any, error) {
		stressors := map[string]any{"cpu": map[string]any{"workers": int64(a.Workers), "load": int64(a.Load)}}
		c := commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		return createStress(ctx, env, c, stressors, a.Duration, a.ContainerNames, a.StressngStressors)
	})
	provider.Register(stressModule+"actions.stress_memory", "Create a Chaos Mesh StressChaos that allocates and holds memory in the selected containers (size, workers, time to get to size, oom score).", func(ctx context.Context, env provider.Env, a stressMemoryArgs) (any, error) {
		mem := map[string]any{}
		if a.Workers != nil {
			mem["workers"] = int64(*a.Workers)
		}
		setStr(mem, "size", a.Size)
		setStr(mem, "time", a.TimeToGetToSize)
		if a.OOMScore != nil {
			mem["oomScoreAdj"] = int64(*a.OOMScore)
		}
		c := commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		return createStress(ctx, env, c, map[string]any{"memory": mem}, a.Duration, a.ContainerNames, a.StressngStressors)
	})
	provider.Register(stressModule+"actions.delete_stressor", "Delete a Chaos Mesh StressChaos (the stress ends).", func(ctx context.Context, env provider.Env, a nameArgs) (any, error) {
		return deleteObject(ctx, env, stressChaos, a)
	})
	provider.Register(stressModule+"probes.get_stressor", "A Chaos Mesh StressChaos of a namespace.", func(ctx context.Context, env provider.Env, a nameArgs) (any, error) {
		return getObject(ctx, env, stressChaos, a)
	})
	provider.Register(stressModule+"probes.get_stressors", "The Chaos Mesh StressChaos objects of a namespace.", func(ctx context.Context, env provider.Env, a nsArgs) (any, error) {
		return listObjects(ctx, env, stressChaos, a)
	})
}

// stressSpec builds the StressChaos spec as chaosk8s's stress functions do: the selection of
// add_common_spec, the stressors, duration, containerNames ("a,b" or a list) and
// stressngStressors.
func stressSpec(ca commonArgs, stressors map[string]any, duration, containers, stressng any) (map[string]any, error) {
	spec := map[string]any{"selector": map[string]any{}, "stressors": stressors}
	if err := buildSpec(ca, targetArgs{}, spec); err != nil {
		return nil, err
	}
	// chaosk8s writes direction, which StressChaos does not have: the API server drops it (with
	// a warning) under Chaos Mesh's CRD and chaostest's alike, so it is left out.
	delete(spec, "direction")
	setStr(spec, "duration", duration)
	if names := list(containers); names != nil {
		spec["containerNames"] = names
	}
	setStr(spec, "stressngStressors", stressng)
	return spec, nil
}

func createStress(ctx context.Context, env provider.Env, ca commonArgs, stressors map[string]any, duration, containers, stressng any) (any, error) {
	return createObject(ctx, env, stressChaos, ca, func() (map[string]any, error) {
		return stressSpec(ca, stressors, duration, containers, stressng)
	})
}

// Duration sets how long a stress lasts (duration, a Go duration; the default is chaosk8s's
// 30 s). The agent ends the stress then even if nobody deletes the object.
func Duration(d time.Duration) Option { return Arg("duration", d.String()) }

// Containers names the containers to stress in each selected pod (container_names); the
// default is each pod's first container.
func Containers(names ...string) Option { return Arg("container_names", strings.Join(names, ",")) }

// MemoryWorkers shares a memory stress among n workers (workers of stress_memory).
func MemoryWorkers(n int) Option { return Arg("workers", n) }

// GrowthTime makes a memory stress grow linearly to its size over d (time_to_get_to_size).
func GrowthTime(d time.Duration) Option { return Arg("time_to_get_to_size", d.String()) }

// OOMScore sets the memory stressor's oom_score_adj, -1000 to 1000 (oom_score).
func OOMScore(n int) Option { return Arg("oom_score", n) }

// StressCPU is chaosk8s.chaosmesh.stress.actions.stress_cpu: a StressChaos named name in which
// workers workers each load one CPU at load percent, inside the selected containers (so their
// CPU limits apply and their usage shows it). Select the pods with Labels (required), In,
// Namespaces, All/Fixed/FixedPercent/RandomMaxPercent, and the containers with Containers;
// Duration bounds it (default 30 s). Its rollback is DeleteStressor(kube, name).
//
//	ct.Action("burn", chaosmesh.StressCPU(kube, "burn", 1, 80, chaosmesh.In(ns), chaosmesh.Labels("app=greeter"), chaosmesh.Duration(time.Minute)))
//	ct.Rollback(chaosmesh.DeleteStressor(kube, "burn", chaosmesh.In(ns)))
func StressCPU(kube *k8s.Client, name string, workers, load int, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "workers": workers, "load": load}
	return activity(kube, stressModule+"actions.stress_cpu", args, opts)
}

// StressMemory is chaosk8s.chaosmesh.stress.actions.stress_memory: a StressChaos named name
// that allocates and holds size ("256MB", "1GiB", "10%" of the node's memory) inside the
// selected containers (so it counts against their memory limits). Select as for StressCPU;
// MemoryWorkers, GrowthTime and OOMScore tune it. Its rollback is DeleteStressor(kube, name).
//
//	ct.Action("hog", chaosmesh.StressMemory(kube, "hog", "256MB", chaosmesh.In(ns), chaosmesh.Labels("app=greeter")))
//	ct.Rollback(chaosmesh.DeleteStressor(kube, "hog", chaosmesh.In(ns)))
func StressMemory(kube *k8s.Client, name, size string, opts ...Option) *chaostest.Activity {
	args := map[string]any{"name": name, "size": size}
	return activity(kube, stressModule+"actions.stress_memory", args, opts)
}

// DeleteStressor is chaosk8s.chaosmesh.stress.actions.delete_stressor: it deletes the
// StressChaos name (In sets its namespace), which ends the stress.
func DeleteStressor(kube *k8s.Client, name string, opts ...Option) *chaostest.Activity {
	return activity(kube, stressModule+"actions.delete_stressor", map[string]any{"name": name}, opts)
}

// GetStressor is chaosk8s.chaosmesh.stress.probes.get_stressor: the object, status included.
func GetStressor(kube *k8s.Client, name string, opts ...Option) *chaostest.Activity {
	return activity(kube, stressModule+"probes.get_stressor", map[string]any{"name": name}, opts)
}

// GetStressors is chaosk8s.chaosmesh.stress.probes.get_stressors: the objects of the namespace
// (In).
func GetStressors(kube *k8s.Client, opts ...Option) *chaostest.Activity {
	return activity(kube, stressModule+"probes.get_stressors", map[string]any{}, opts)
}
