package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// StressKind and StressResource name the StressChaos API (group and version are Group and
// Version).
const (
	StressKind     = "StressChaos"
	StressResource = "stresschaos"
	// StressCRDName is the name of the StressChaos CustomResourceDefinition.
	StressCRDName = StressResource + "." + Group
)

// StressGVR is the StressChaos resource for dynamic clients.
var StressGVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: StressResource}

// MaxStressWorkers bounds the workers of a stressor, as Chaos Mesh's schema does.
const MaxStressWorkers = 8192

// ContainerSelector is a pod selector with the names of the containers to act on; with no
// names, the first container of each pod (as in Chaos Mesh).
type ContainerSelector struct {
	PodSelector    `json:",inline"`
	ContainerNames []string `json:"containerNames,omitempty"`
}

// StressChaosSpec is the spec of a StressChaos.
type StressChaosSpec struct {
	ContainerSelector `json:",inline"`
	Stressors         *Stressors `json:"stressors,omitempty"`
	// StressngStressors is a stress-ng command line; the chaostest agent does not serve it.
	StressngStressors string  `json:"stressngStressors,omitempty"`
	Duration          *string `json:"duration,omitempty"`
	RemoteCluster     string  `json:"remoteCluster,omitempty"`
}

// Stressors is spec.stressors: a CPU stressor, a memory stressor, or both.
type Stressors struct {
	Memory *MemoryStressor `json:"memory,omitempty"`
	CPU    *CPUStressor    `json:"cpu,omitempty"`
}

// MemoryStressor is spec.stressors.memory. Size is the total to allocate ("256MB", "1GiB",
// or "25%" of the node's memory), shared among Workers (as Chaos Mesh's memStress does).
// Time, the time to grow to Size (memStress's --time), is written by chaosk8s's
// time_to_get_to_size; Chaos Mesh's own schema drops it, the chaostest agent serves it.
type MemoryStressor struct {
	Workers     int      `json:"workers"`
	Size        string   `json:"size,omitempty"`
	Time        string   `json:"time,omitempty"`
	OOMScoreAdj int      `json:"oomScoreAdj,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// CPUStressor is spec.stressors.cpu: Workers workers each loading one CPU at Load percent
// (100 when absent), as stress-ng --cpu N --cpu-load P.
type CPUStressor struct {
	Workers int      `json:"workers"`
	Load    *int     `json:"load,omitempty"`
	Options []string `json:"options,omitempty"`
}

// StressChaos is one stress fault.
type StressChaos struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              StressChaosSpec   `json:"spec"`
	Status            StressChaosStatus `json:"status,omitempty"`
}

// StressChaosStatus is Chaos Mesh's status of a StressChaos. The records' ids are
// "namespace/pod/container".
type StressChaosStatus struct {
	Conditions []ChaosCondition          `json:"conditions,omitempty"`
	Experiment ExperimentStatus          `json:"experiment"`
	Instances  map[string]StressInstance `json:"instances,omitempty"`
}

// StressInstance is the stressor running for one record: UID is its process id on the node.
type StressInstance struct {
	UID             string       `json:"uid,omitempty"`
	MemoryUID       string       `json:"memoryUid,omitempty"`
	StartTime       *metav1.Time `json:"startTime,omitempty"`
	MemoryStartTime *metav1.Time `json:"memoryStartTime,omitempty"`
}

// Stress is a checked spec.stressors. A zero CPUWorkers means no CPU stress; MemBytes and
// MemPercent (one of them set) the memory to hold, none meaning no memory stress.
type Stress struct {
	CPUWorkers, CPULoad int
	MemBytes            uint64
	MemPercent          float64
	MemWorkers          int
	MemTime             time.Duration
	OOMScoreAdj         int
}

// Memory reports whether s holds memory.
func (s Stress) Memory() bool { return s.MemBytes > 0 || s.MemPercent > 0 }

// ParseStressors checks spec.stressors: at least one stressor; CPU workers 1 to 8192 and load
// 0 to 100 (default 100); memory workers 0 to 8192 (0 means 1, memStress's default), size
// required, time a duration, oomScoreAdj -1000 to 1000. Options (stress-ng flags) are not
// served.
func ParseStressors(st *Stressors) (Stress, error) {
	var out Stress
	if st == nil || (st.CPU == nil && st.Memory == nil) {
		return out, fmt.Errorf("spec.stressors: required, with cpu and/or memory")
	}
	if c := st.CPU; c != nil {
		if c.Workers < 1 || c.Workers > MaxStressWorkers {
			return out, fmt.Errorf("spec.stressors.cpu.workers %d: must be 1 to %d", c.Workers, MaxStressWorkers)
		}
		out.CPUWorkers, out.CPULoad = c.Workers, 100
		if c.Load != nil {
			if *c.Load < 0 || *c.Load > 100 {
				return out, fmt.Errorf("spec.stressors.cpu.load %d: must be a percentage from 0 to 100", *c.Load)
			}
			out.CPULoad = *c.Load
		}
		if len(c.Options) > 0 {
			return out, fmt.Errorf("spec.stressors.cpu.options (stress-ng flags): %w", ErrNotSupported)
		}
	}
	if m := st.Memory; m != nil {
		if m.Workers < 0 || m.Workers > MaxStressWorkers {
			return out, fmt.Errorf("spec.stressors.memory.workers %d: must be 1 to %d", m.Workers, MaxStressWorkers)
		}
		out.MemWorkers = max(m.Workers, 1)
		if m.Size == "" {
			// Chaos Mesh would take all the node's memory; chaostest asks for a size.
			return out, fmt.Errorf("spec.stressors.memory.size: required, e.g. \"256MB\", \"1GiB\" or \"10%%\" (of the node's memory)")
		}
		b, pct, err := ParseBytes(m.Size)
		if err != nil {
			return out, fmt.Errorf("spec.stressors.memory.size: %w", err)
		}
		out.MemBytes, out.MemPercent = b, pct
		if b == 0 && pct == 0 {
			return out, fmt.Errorf("spec.stressors.memory.size %q: must be more than nothing", m.Size)
		}
		if m.Time != "" {
			d, err := time.ParseDuration(m.Time)
			if err != nil || d < 0 {
				return out, fmt.Errorf("spec.stressors.memory.time %q: not a duration such as \"10s\"", m.Time)
			}
			out.MemTime = d
		}
		if m.OOMScoreAdj < -1000 || m.OOMScoreAdj > 1000 {
			return out, fmt.Errorf("spec.stressors.memory.oomScoreAdj %d: must be -1000 to 1000", m.OOMScoreAdj)
		}
		out.OOMScoreAdj = m.OOMScoreAdj
		if len(m.Options) > 0 {
			return out, fmt.Errorf("spec.stressors.memory.options (stress-ng flags): %w", ErrNotSupported)
		}
	}
	return out, nil
}

// byteUnits are the units of memStress's sizes (humanize.ParseBytes): SI multiples of 1000
// (k, kb, m, mb, ...) and IEC multiples of 1024 (ki, kib, mi, mib, ...), case-insensitive.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseBytes reads a memory size as Chaos Mesh's memStress does: "256MB" (256×10⁶ bytes),
// "1GiB" (2³⁰), "1.5G", "4096" (bytes), or a whole percentage "25%" (returned as pct, of the
// node's memory).
func ParseBytes(s string) (bytes uint64, pct float64, err error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || v > 100 {
			return 0, 0, fmt.Errorf("%q is not a whole percentage from 0 to 100", s)
		}
		return 0, float64(v), nil
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	v, perr := strconv.ParseFloat(num, 64)
	mult, ok := byteUnits[unit]
	if perr != nil || !ok || v < 0 || math.IsInf(v*mult, 0) || v*mult >= 1<<63 {
		return 0, 0, fmt.Errorf("%q is not a size such as \"256MB\", \"1GiB\" or \"25%%\" (units B, KB/KiB, MB/MiB, GB/GiB, TB/TiB)", s)
	}
	return uint64(v * mult), 0, nil
}

// Check validates spec for the chaostest agent, like NetworkChaosSpec.Check: errors name the
// field, and parts of Chaos Mesh's API the agent does not serve wrap ErrNotSupported.
func (s *StressChaosSpec) Check() error {
	if s.StressngStressors != "" {
		return fmt.Errorf("spec.stressngStressors (a stress-ng command line): %w (use spec.stressors)", ErrNotSupported)
	}
	if s.RemoteCluster != "" {
		return fmt.Errorf("spec.remoteCluster %q: %w", s.RemoteCluster, ErrNotSupported)
	}
	if _, err := ParseStressors(s.Stressors); err != nil {
		return err
	}
	if s.Duration != nil && *s.Duration != "" {
		if _, err := ParseDuration(*s.Duration); err != nil {
			return fmt.Errorf("spec.duration: %w", err)
		}
	}
	for i, n := range s.ContainerNames {
		if n == "" {
			return fmt.Errorf("spec.containerNames[%d]: empty container name", i)
		}
	}
	return s.PodSelector.check("spec")
}

// stressCRDYAML is a structural schema of Chaos Mesh's StressChaos spec. Unlike the
// NetworkChaos one it prunes unknown spec fields, as Chaos Mesh's does (chaosk8s writes a
// "direction" that StressChaos does not have), and lists the fields chaostest refuses so
// that they reach the agent.
const stressCRDYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: stresschaos.chaos-mesh.org
  labels:
    app.kubernetes.io/managed-by: chaostest
spec:
  group: chaos-mesh.org
  scope: Namespaced
  names:
    kind: StressChaos
    listKind: StressChaosList
    plural: stresschaos
    singular: stresschaos
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: duration
      type: string
      jsonPath: .spec.duration
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [mode, selector]
            properties:
              mode:
                type: string
                enum: [one, all, fixed, fixed-percent, random-max-percent]
              value: {type: string}
              selector:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  namespaces: {type: array, items: {type: string}}
                  labelSelectors: {type: object, additionalProperties: {type: string}}
                  annotationSelectors: {type: object, additionalProperties: {type: string}}
              containerNames: {type: array, items: {type: string}}
              duration: {type: string}
              remoteCluster: {type: string}
              stressngStressors: {type: string}
              stressors:
                type: object
                properties:
                  cpu:
                    type: object
                    properties:
                      workers: {type: integer, maximum: 8192}
                      load: {type: integer, minimum: 0, maximum: 100}
                      options: {type: array, items: {type: string}}
                  memory:
                    type: object
                    properties:
                      workers: {type: integer, maximum: 8192}
                      size: {type: string}
                      time: {type: string}
                      oomScoreAdj: {type: integer, minimum: -1000, maximum: 1000}
                      options: {type: array, items: {type: string}}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`

// StressCRD returns the StressChaos CustomResourceDefinition chaostest installs when a cluster
// has none.
func StressCRD() *unstructured.Unstructured {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(stressCRDYAML), &m); err != nil {
		panic(fmt.Sprintf("v1alpha1: the embedded StressChaos CRD does not parse: %v", err))
	}
	return &unstructured.Unstructured{Object: m}
}
