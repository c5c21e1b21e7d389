// Package chaosmesh provides chaosk8s's chaosk8s.chaosmesh.network functions (add_latency,
// set_loss, duplicate_packets, corrupt_packets, reorder_packets, set_bandwidth,
// delete_network_fault, get_network_fault(s)) and a Go API for them. As chaosk8s
// does, they create, delete and read Chaos Mesh NetworkChaos objects (chaos-mesh.org/v1alpha1):
// on a cluster with Chaos Mesh, Chaos Mesh serves them; on one with chaostest's agent (package
// agent; the local cluster, or `chaostest agent install`), the agent does. The
// chaosk8s.chaosmesh.stress functions (stress_cpu, stress_memory, delete_stressor,
// get_stressor(s); Go API StressCPU, StressMemory, DeleteStressor, GetStressor(s)) do the same
// with StressChaos objects.
//
// When chaostest's agent serves the kind, the functions first check that it can serve the
// spec (today: loss, partition, delay with reordering, duplicate, corrupt and bandwidth) and refuse the rest with "not supported by the chaostest
// agent yet" before anything is created, and they give the object a lease that this process
// renews while it runs: a fault never outlives the process that made it by more than the
// lease (default 15 s; configuration key chaostest_network_fault_lease, or [Lease]).
//
// # Where chaostest deliberately differs (safety)
//
//   - An empty selector (neither label_selectors nor annotations_selectors) is refused; Chaos
//     Mesh would pick among every pod of the namespace.
//   - The system namespaces (kube-system, kube-public, kube-node-lease) are refused in ns and
//     namespaces_selectors unless chaostest_allow_system_namespaces is true.
//   - mode_value is kept for modes fixed and random-max-percent too (chaosk8s keeps it only for
//     fixed-percent, which makes Chaos Mesh reject such objects).
//   - reorder_packets creates a NetworkChaos with action delay and spec.delay.reorder (reorder,
//     correlation, gap as a number), which is how Chaos Mesh expresses netem's reordering;
//     chaosk8s writes action "reorder" and a top-level spec.reorder, which Chaos Mesh rejects.
//     Reordering needs a delay (the packets sent ahead overtake the delayed ones), so
//     reorder_packets takes one more argument than chaosk8s's, latency (default "10ms").
package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/k8s"
)

// LeaseKey is the configuration key giving the lease, in seconds, of the faults this process
// creates on a cluster served by chaostest's agent (default DefaultLease).
const LeaseKey = "chaostest_network_fault_lease"

// DefaultLease is the lease of a fault when neither LeaseKey nor Lease says otherwise.
const DefaultLease = 15 * time.Second

const module = "chaosk8s.chaosmesh.network."

// commonArgs are the selection arguments chaosk8s's network functions share (without tags:
// the registered structs below spell them out, in chaosk8s's order).
type commonArgs struct {
	Name, NS                                                  string
	NamespacesSelectors, LabelSelectors, AnnotationsSelectors any
	Mode                                                      string
	ModeValue                                                 any
	Direction                                                 string
}

type targetArgs struct {
	ExternalTargets                                                                              any
	TargetMode                                                                                   string
	TargetModeValue, TargetNamespacesSelectors, TargetLabelSelectors, TargetAnnotationsSelectors any
}

type lossArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Loss                       any    `arg:"loss" default:"null"`
	Correlation                any    `arg:"correlation" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

type latencyArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Latency                    any    `arg:"latency" default:"null"`
	Correlation                any    `arg:"correlation" default:"null"`
	Jitter                     any    `arg:"jitter" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

type bandwidthArgs struct {
	Name                       string `arg:"name"`
	Rate                       string `arg:"rate"`
	Limit                      int    `arg:"limit"`
	Buffer                     int    `arg:"buffer"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Peakrate                   *int   `arg:"peakrate" default:"null"`
	Minburst                   *int   `arg:"minburst" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

// partitionArgs is chaostest's own function (chaosk8s has none): a NetworkChaos with action
// partition.
type partitionArgs struct {
	Name                       string `arg:"name"`
	NS                         string `arg:"ns" default:"\"default\""`
	NamespacesSelectors        any    `arg:"namespaces_selectors" default:"null"`
	LabelSelectors             any    `arg:"label_selectors" default:"null"`
	AnnotationsSelectors       any    `arg:"annotations_selectors" default:"null"`
	Mode                       string `arg:"mode" default:"\"one\""`
	ModeValue                  any    `arg:"mode_value" default:"null"`
	Direction                  string `arg:"direction" default:"\"to\""`
	Duration                   any    `arg:"duration" default:"null"`
	ExternalTargets            any    `arg:"external_targets" default:"null"`
	TargetMode                 string `arg:"target_mode" default:"\"one\""`
	TargetModeValue            any    `arg:"target_mode_value" default:"null"`
	TargetNamespacesSelectors  any    `arg:"target_namespaces_selectors" default:"null"`
	TargetLabelSelectors       any    `arg:"target_label_selectors" default:"null"`
	TargetAnnotationsSelectors any    `arg:"target_annotations_selectors" default:"null"`
}

// split returns the shared arguments of one of the structs above.
func split(v any) (commonArgs, targetArgs) {
	var c commonArgs
	var t targetArgs
	switch a := v.(type) {
	case lossArgs:
		c = commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		t = targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
	case latencyArgs:
		c = commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		t = targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
	case bandwidthArgs:
		c = commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		t = targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
	case partitionArgs:
		c = commonArgs{a.Name, a.NS, a.NamespacesSelectors, a.LabelSelectors, a.AnnotationsSelectors, a.Mode, a.ModeValue, a.Direction}
		t = targetArgs{a.ExternalTargets, a.TargetMode, a.TargetModeValue, a.TargetNamespacesSelectors, a.TargetLabelSelectors, a.TargetAnnotationsSelectors}
	case splitter: // netem.go
		c, t = a.parts()
	}
	return c, t
}

type nameArgs struct {
	Name string `arg:"name"`
	NS   string `arg:"ns" default:"\"default\""`
}

type nsArgs struct {
	NS string `arg:"ns" default:"\"default\""`
}

func init() {
	provider.Register(module+"actions.set_loss", "Create a Chaos Mesh NetworkChaos that drops a share of the selected pods' packets (served by chaostest's agent).", func(ctx context.Context, env provider.Env, a lossArgs) (any, error) {
		return createChance(ctx, env, a, "loss", a.Loss, a.Correlation)
	})
	provider.Register(module+"actions.add_latency", "Create a Chaos Mesh NetworkChaos that delays the selected pods' packets (latency, jitter, correlation).", func(ctx context.Context, env provider.Env, a latencyArgs) (any, error) {
		spec := map[string]any{"action": "delay", "selector": map[string]any{}, "delay": map[string]any{}}
		d := spec["delay"].(map[string]any)
		setStr(d, "latency", a.Latency)
		setStr(d, "correlation", a.Correlation)
		setStr(d, "jitter", a.Jitter)
		c, t := split(a)
		return create(ctx, env, c, t, spec)
	})
	provider.Register(module+"actions.set_bandwidth", "Create a Chaos Mesh NetworkChaos that limits the selected pods' bandwidth (rate, limit and buffer of a token bucket filter).", func(ctx context.Context, env provider.Env, a bandwidthArgs) (any, error) {
		if a.Limit <= 0 || a.Buffer <= 0 {
			return nil, fmt.Errorf("limit (%d) and buffer (%d): both must be a positive number of bytes", a.Limit, a.Buffer)
		}
		// chaosk8s writes the action as "bandwdith", which Chaos Mesh rejects; chaostest spells it right.
		bw := map[string]any{"rate": a.Rate, "limit": int64(a.Limit), "buffer": int64(a.Buffer)}
		if a.Peakrate != nil {
			bw["peakrate"] = int64(*a.Peakrate)
		}
		if a.Minburst != nil {
			bw["minburst"] = int64(*a.Minburst)
		}
		spec := map[string]any{"action": "bandwidth", "selector": map[string]any{}, "bandwidth": bw}
		c, t := split(a)
		return create(ctx, env, c, t, spec)
	})
	provider.Register("chaostest.chaosmesh.network.actions.partition", "Create a Chaos Mesh NetworkChaos that partitions the selected pods (all their traffic in direction, or only with the target pods / external targets). Not in chaosk8s.", func(ctx context.Context, env provider.Env, a partitionArgs) (any, error) {
		spec := map[string]any{"action": "partition", "selector": map[string]any{}}
		setStr(spec, "duration", a.Duration)
		c, t := split(a)
		return create(ctx, env, c, t, spec)
	})
	provider.Register(module+"actions.delete_network_fault", "Delete a Chaos Mesh NetworkChaos (the fault is removed).", func(ctx context.Context, env provider.Env, a nameArgs) (any, error) {
		return deleteObject(ctx, env, networkChaos, a)
	})
	provider.Register(module+"probes.get_network_fault", "A Chaos Mesh NetworkChaos of a namespace.", func(ctx context.Context, env provider.Env, a nameArgs) (any, error) {
		return getObject(ctx, env, networkChaos, a)
	})
	provider.Register(module+"probes.get_network_faults", "The Chaos Mesh NetworkChaos objects of a namespace.", func(ctx context.Context, env provider.Env, a nsArgs) (any, error) {
		return listObjects(ctx, env, networkChaos, a)
	})
}

type ctxKey struct{}

// settings travel in the context from the Go API to the registered functions.
type settings struct {
	client *k8s.Client
	lease  time.Duration
}

func client(ctx context.Context, env provider.Env) (*k8s.Client, error) {
	if s, ok := ctx.Value(ctxKey{}).(*settings); ok && s.client != nil {
		return s.client, nil
	}
	return k8s.FromEnv(env.Secrets)
}

func setStr(m map[string]any, key string, v any) {
	if s := pyStrOpt(v); s != "" {
		m[key] = s
	}
}

// pyStrOpt renders an optional argument the way it lands in the object: strings as they are,
// numbers as Python's str() would (25 -> "25", 0.5 -> "0.5"); None and "" are left out.
func pyStrOpt(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// list reads a "a,b" string or a list.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		var out []any
		for _, s := range strings.Split(x, ",") {
			out = append(out, s)
		}
		return out
	case []any:
		return x
	}
	return []any{v}
}

// kv reads a "k=v,k2=v2" string or a mapping, as chaosk8s does.
func kv(arg string, v any) (map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
		return x, nil
	case string:
		if x == "" {
			return nil, nil
		}
		out := map[string]any{}
		for _, pair := range strings.Split(x, ",") {
			k, val, ok := strings.Cut(pair, "=")
			if !ok {
				return nil, fmt.Errorf("%s: %q is not key=value", arg, pair)
			}
			out[k] = val
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: expected a string \"key=value,...\" or a mapping, got %s", arg, jsonvalue.TypeName(v))
}

// buildSpec fills the selection part of spec as chaosk8s's add_common_spec does.
func buildSpec(c commonArgs, t targetArgs, spec map[string]any) error {
	spec["direction"] = c.Direction
	spec["mode"] = c.Mode
	if v := pyStrOpt(c.ModeValue); v != "" && c.Mode != "one" && c.Mode != "all" {
		spec["value"] = v
	}
	if err := fillSelector(spec["selector"].(map[string]any), c.NamespacesSelectors,
		"label_selectors", c.LabelSelectors, "annotations_selectors", c.AnnotationsSelectors); err != nil {
		return err
	}
	if et := list(t.ExternalTargets); et != nil {
		spec["externalTargets"] = et
	}
	if t.TargetMode != "" {
		target := map[string]any{"mode": t.TargetMode, "selector": map[string]any{}}
		if v := pyStrOpt(t.TargetModeValue); v != "" && (t.TargetMode == "fixed" || t.TargetMode == "fixed-percent" || t.TargetMode == "random-max-percent") {
			target["value"] = v
		}
		if err := fillSelector(target["selector"].(map[string]any), t.TargetNamespacesSelectors,
			"target_label_selectors", t.TargetLabelSelectors, "target_annotations_selectors", t.TargetAnnotationsSelectors); err != nil {
			return err
		}
		spec["target"] = target
	}
	return nil
}

// fillSelector sets a Chaos Mesh selector's namespaces, labelSelectors and annotationSelectors
// from chaosk8s's arguments; labelsArg and annotationsArg name the arguments in errors.
func fillSelector(sel map[string]any, namespaces any, labelsArg string, labels any, annotationsArg string, annotations any) error {
	if ns := list(namespaces); ns != nil {
		sel["namespaces"] = ns
	}
	ls, err := kv(labelsArg, labels)
	if err != nil {
		return err
	}
	if ls != nil {
		sel["labelSelectors"] = ls
	}
	as, err := kv(annotationsArg, annotations)
	if err != nil {
		return err
	}
	if as != nil {
		sel["annotationSelectors"] = as
	}
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// kind is what creating, checking and renewing an object needs to know of a Chaos Mesh kind.
type kind struct {
	name    string // NetworkChaos, StressChaos
	gvr     schema.GroupVersionResource
	crdName string
	// resource is the kind's resource name (networkchaos, stresschaos).
	resource string
	// renewPrefix begins the namespace part of the renewers' keys, so that objects of two
	// kinds with one name keep two renewers.
	renewPrefix string
	// spec converts a spec to the agent's type, whose Check says whether the agent serves it.
	spec func(spec map[string]any) (checker, error)
}

// checker is a typed spec the agent checks before anything is created.
type checker interface{ Check() error }

// typedSpec converts spec to an S.
func typedSpec[S any, P interface {
	*S
	checker
}](spec map[string]any) (checker, error) {
	p := P(new(S))
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, p); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	networkChaos = kind{name: v1alpha1.Kind, gvr: v1alpha1.GVR, crdName: v1alpha1.CRDName, resource: v1alpha1.Resource,
		spec: typedSpec[v1alpha1.NetworkChaosSpec]}
	stressChaos = kind{name: v1alpha1.StressKind, gvr: v1alpha1.StressGVR, crdName: v1alpha1.StressCRDName, resource: v1alpha1.StressResource,
		renewPrefix: v1alpha1.StressResource + ":", spec: typedSpec[v1alpha1.StressChaosSpec]}
)

// servedByAgent reports whether the cluster's CRD of kind k is chaostest's (true) or Chaos
// Mesh's (false); a cluster without the kind is an error saying how to get one.
func servedByAgent(ctx context.Context, c *k8s.Client, k kind) (bool, error) {
	crd, err := c.Dynamic().Resource(crdGVR).Get(ctx, k.crdName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, fmt.Errorf("the cluster serves no %s kind (%s/%s): install Chaos Mesh, or chaostest's agent with `chaostest agent install`", k.name, v1alpha1.Group, v1alpha1.Version)
	}
	if err != nil {
		return false, fmt.Errorf("reading the CRD %s: %w", k.crdName, err)
	}
	return crd.GetLabels()[v1alpha1.ManagedByLabel] == "chaostest", nil
}

// createChance creates a NetworkChaos of action action (loss, duplicate, corrupt) with the
// selection of args and spec.<action> holding the share and its correlation.
func createChance(ctx context.Context, env provider.Env, args any, action string, share, correlation any) (any, error) {
	fields := map[string]any{}
	setStr(fields, action, share)
	setStr(fields, "correlation", correlation)
	spec := map[string]any{"action": action, "selector": map[string]any{}, action: fields}
	c, t := split(args)
	return create(ctx, env, c, t, spec)
}

// create creates a NetworkChaos with the selection of ca and ta in spec.
func create(ctx context.Context, env provider.Env, ca commonArgs, ta targetArgs, spec map[string]any) (any, error) {
	return createObject(ctx, env, networkChaos, ca, func() (map[string]any, error) {
		if err := buildSpec(ca, ta, spec); err != nil {
			return nil, err
		}
		return spec, nil
	})
}

// createObject creates the object of kind k named ca.Name in namespace ca.NS, whose spec build
// returns, with chaostest's safety checks (namespaces, no empty selector); on a cluster served
// by chaostest's agent it checks the spec first and gives the object a lease it renews.
func createObject(ctx context.Context, env provider.Env, k kind, ca commonArgs, build func() (map[string]any, error)) (any, error) {
	c, err := client(ctx, env)
	if err != nil {
		return nil, err
	}
	if ca.Name == "" {
		return nil, fmt.Errorf("name: the %s needs a name", k.name)
	}
	if err := c.CheckNamespace(env, ca.NS); err != nil {
		return nil, err
	}
	spec, err := build()
	if err != nil {
		return nil, err
	}
	for _, ns := range list(ca.NamespacesSelectors) {
		if err := c.CheckNamespace(env, fmt.Sprint(ns)); err != nil {
			return nil, err
		}
	}
	sel := spec["selector"].(map[string]any)
	if sel["labelSelectors"] == nil && sel["annotationSelectors"] == nil {
		return nil, fmt.Errorf("refusing to select every pod of namespace '%s': give label_selectors or annotations_selectors (chaostest never reads an empty selector as every pod)", ca.NS)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.Group + "/" + v1alpha1.Version, "kind": k.name,
		"metadata": map[string]any{"name": ca.Name, "namespace": ca.NS},
		"spec":     spec,
	}}
	agent, err := servedByAgent(ctx, c, k)
	if err != nil {
		return nil, err
	}
	lease := leaseOf(ctx, env)
	if agent {
		typed, err := k.spec(spec)
		if err != nil {
			return nil, fmt.Errorf("the %s spec: %w", k.name, err)
		}
		if err := typed.Check(); err != nil {
			if errors.Is(err, v1alpha1.ErrNotSupported) {
				return nil, fmt.Errorf("%s: %w (Chaos Mesh serves it; this cluster has chaostest's agent)", ca.Name, err)
			}
			return nil, fmt.Errorf("%s: %w", ca.Name, err)
		}
		obj.SetAnnotations(map[string]string{
			v1alpha1.LeaseSecondsAnnotation: strconv.FormatFloat(lease.Seconds(), 'f', -1, 64),
			v1alpha1.LeaseRenewAnnotation:   "0",
		})
	}
	out, err := c.Dynamic().Resource(k.gvr).Namespace(ca.NS).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("Failed to create custom resource object: a %s named '%s' already exists in namespace '%s'", k.name, ca.Name, ca.NS)
		}
		return nil, fmt.Errorf("Failed to create custom resource object: %v", err)
	}
	if agent {
		startRenewing(c, k, ca.NS, ca.Name, out.GetUID(), lease)
	}
	return objectValue(out)
}

// deleteObject stops renewing the object of kind k a names and deletes it, as chaosk8s's
// delete_network_fault and delete_stressor do.
func deleteObject(ctx context.Context, env provider.Env, k kind, a nameArgs) (any, error) {
	c, err := client(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := c.CheckNamespace(env, a.NS); err != nil {
		return nil, err
	}
	stopRenewing(k.renewPrefix+a.NS, a.Name)
	if err := c.Dynamic().Resource(k.gvr).Namespace(a.NS).Delete(ctx, a.Name, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("Failed to delete custom resource object: %v", err)
	}
	st := metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{Name: a.Name, Group: v1alpha1.Group, Kind: k.resource}}
	return toValue(&st)
}

// getObject reads the object of kind k a names.
func getObject(ctx context.Context, env provider.Env, k kind, a nameArgs) (any, error) {
	c, err := client(ctx, env)
	if err != nil {
		return nil, err
	}
	u, err := c.Dynamic().Resource(k.gvr).Namespace(a.NS).Get(ctx, a.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("Failed to read custom resource object: %v", err)
	}
	return objectValue(u)
}

// listObjects reads the objects of kind k of namespace a.NS.
func listObjects(ctx context.Context, env provider.Env, k kind, a nsArgs) (any, error) {
	c, err := client(ctx, env)
	if err != nil {
		return nil, err
	}
	l, err := c.Dynamic().Resource(k.gvr).Namespace(a.NS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("Failed to list custom resource objects: %v", err)
	}
	items := []any{}
	for i := range l.Items {
		v, err := objectValue(&l.Items[i])
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

func leaseOf(ctx context.Context, env provider.Env) time.Duration {
	if s, ok := ctx.Value(ctxKey{}).(*settings); ok && s.lease > 0 {
		return s.lease
	}
	switch v := env.Configuration[LeaseKey].(type) {
	case float64:
		if v > 0 {
			return time.Duration(v * float64(time.Second))
		}
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			return time.Duration(f * float64(time.Second))
		}
	}
	return DefaultLease
}

// renewers holds the lease renewers of this process, by namespace/name.
var renewers = struct {
	sync.Mutex
	m map[string]context.CancelFunc
}{m: map[string]context.CancelFunc{}}

// startRenewing bumps the lease annotation of the object of kind k every third of the lease
// until the object is gone (or replaced), delete_network_fault (delete_stressor) is called, or
// the process ends. The renewer is kept under k.renewPrefix+"<ns>/<name>".
func startRenewing(c *k8s.Client, k kind, ns, name string, uid types.UID, lease time.Duration) {
	key := k.renewPrefix + ns + "/" + name
	ctx, cancel := context.WithCancel(context.Background())
	renewers.Lock()
	if old := renewers.m[key]; old != nil {
		old()
	}
	renewers.m[key] = cancel
	renewers.Unlock()
	go func() {
		defer cancel()
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		ri := c.Dynamic().Resource(k.gvr).Namespace(ns)
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			patch := fmt.Sprintf(`{"metadata":{"uid":%q,"annotations":{%q:"%d"}}}`, uid, v1alpha1.LeaseRenewAnnotation, n)
			rctx, rcancel := context.WithTimeout(ctx, lease/3)
			_, err := ri.Patch(rctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			rcancel()
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return // deleted, or another object of that name now
			}
		}
	}()
}

func stopRenewing(ns, name string) {
	renewers.Lock()
	defer renewers.Unlock()
	if cancel := renewers.m[ns+"/"+name]; cancel != nil {
		cancel()
		delete(renewers.m, ns+"/"+name)
	}
}

func objectValue(u *unstructured.Unstructured) (any, error) {
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return jsonvalue.Decode(b)
}

func toValue(v any) (any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
	if err != nil {
		return nil, err
	}
	return objectValue(&unstructured.Unstructured{Object: u})
}
