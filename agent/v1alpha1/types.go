// Package v1alpha1 holds the subset of Chaos Mesh's chaos-mesh.org/v1alpha1 API that
// chaostest's node agent serves: the NetworkChaos kind, with the same JSON field names as Chaos
// Mesh, so that objects written for Chaos Mesh (and those chaosk8s creates) decode unchanged.
//
// The types are chaostest's own (the upstream API module pulls in controller-runtime webhooks
// and several other libraries); fields chaostest does not act on are kept so that they can be
// refused by name instead of ignored (see [NetworkChaosSpec.Unsupported]).
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group, Version, Kind and Resource name the NetworkChaos API.
const (
	Group    = "chaos-mesh.org"
	Version  = "v1alpha1"
	Kind     = "NetworkChaos"
	Resource = "networkchaos"
)

// GVR is the NetworkChaos resource for dynamic clients.
var GVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// Annotations chaostest puts on the objects it creates.
const (
	// LeaseSecondsAnnotation holds the lease length in whole seconds. With it, the agent
	// recovers the fault when LeaseRenewAnnotation has not changed for that long (measured on
	// the agent's own clock).
	LeaseSecondsAnnotation = "chaostest/lease-seconds"
	// LeaseRenewAnnotation is bumped by the process that owns the fault to renew its lease.
	LeaseRenewAnnotation = "chaostest/lease-renew"
	// AllowSystemNamespacesAnnotation set to "true" lets the agent act on pods of kube-system,
	// kube-public, kube-node-lease and the agent's own namespace, which it otherwise refuses.
	AllowSystemNamespacesAnnotation = "chaostest/allow-system-namespaces"
)

// NetworkChaosAction is spec.action.
type NetworkChaosAction string

// The actions of Chaos Mesh; the chaostest agent serves all but NetemAction (DelayAction with
// spec.delay.reorder is netem's reorder).
const (
	NetemAction     NetworkChaosAction = "netem"
	DelayAction     NetworkChaosAction = "delay"
	LossAction      NetworkChaosAction = "loss"
	DuplicateAction NetworkChaosAction = "duplicate"
	CorruptAction   NetworkChaosAction = "corrupt"
	PartitionAction NetworkChaosAction = "partition"
	BandwidthAction NetworkChaosAction = "bandwidth"
)

// Direction is spec.direction: traffic sent by the selected pods ("to"), received by them
// ("from"), or both.
type Direction string

// The directions.
const (
	To   Direction = "to"
	From Direction = "from"
	Both Direction = "both"
)

// SelectorMode is how many of the matching pods are taken.
type SelectorMode string

// The modes of Chaos Mesh.
const (
	OneMode              SelectorMode = "one"
	AllMode              SelectorMode = "all"
	FixedMode            SelectorMode = "fixed"
	FixedPercentMode     SelectorMode = "fixed-percent"
	RandomMaxPercentMode SelectorMode = "random-max-percent"
)

// PodSelectorSpec is spec.selector: the pods to consider. Namespaces defaults to the object's
// own namespace.
type PodSelectorSpec struct {
	Namespaces          []string                          `json:"namespaces,omitempty"`
	FieldSelectors      map[string]string                 `json:"fieldSelectors,omitempty"`
	LabelSelectors      map[string]string                 `json:"labelSelectors,omitempty"`
	ExpressionSelectors []metav1.LabelSelectorRequirement `json:"expressionSelectors,omitempty"`
	AnnotationSelectors map[string]string                 `json:"annotationSelectors,omitempty"`
	Nodes               []string                          `json:"nodes,omitempty"`
	Pods                map[string][]string               `json:"pods,omitempty"`
	NodeSelectors       map[string]string                 `json:"nodeSelectors,omitempty"`
	PodPhaseSelectors   []string                          `json:"podPhaseSelectors,omitempty"`
}

// PodSelector is a selector with its mode and value (a count for fixed, a percentage for the
// percent modes).
type PodSelector struct {
	Selector PodSelectorSpec `json:"selector"`
	Mode     SelectorMode    `json:"mode"`
	Value    string          `json:"value,omitempty"`
}

// DelaySpec is spec.delay.
type DelaySpec struct {
	Latency     string       `json:"latency"`
	Correlation string       `json:"correlation,omitempty"`
	Jitter      string       `json:"jitter,omitempty"`
	Reorder     *ReorderSpec `json:"reorder,omitempty"`
}

// ReorderSpec is spec.delay.reorder.
type ReorderSpec struct {
	Reorder     string `json:"reorder"`
	Correlation string `json:"correlation,omitempty"`
	Gap         int    `json:"gap"`
}

// LossSpec is spec.loss: Loss is a percentage ("25", "0.5").
type LossSpec struct {
	Loss        string `json:"loss"`
	Correlation string `json:"correlation,omitempty"`
}

// DuplicateSpec is spec.duplicate.
type DuplicateSpec struct {
	Duplicate   string `json:"duplicate"`
	Correlation string `json:"correlation,omitempty"`
}

// CorruptSpec is spec.corrupt.
type CorruptSpec struct {
	Corrupt     string `json:"corrupt"`
	Correlation string `json:"correlation,omitempty"`
}

// BandwidthSpec is spec.bandwidth.
type BandwidthSpec struct {
	Rate     string  `json:"rate"`
	Limit    uint32  `json:"limit"`
	Buffer   uint32  `json:"buffer"`
	Peakrate *uint64 `json:"peakrate,omitempty"`
	Minburst *uint32 `json:"minburst,omitempty"`
}

// NetworkChaosSpec is the spec of a NetworkChaos.
type NetworkChaosSpec struct {
	PodSelector       `json:",inline"`
	Action            NetworkChaosAction `json:"action"`
	PartitionBehavior string             `json:"partitionBehavior,omitempty"`
	Device            string             `json:"device,omitempty"`
	Duration          *string            `json:"duration,omitempty"`
	Delay             *DelaySpec         `json:"delay,omitempty"`
	Loss              *LossSpec          `json:"loss,omitempty"`
	Duplicate         *DuplicateSpec     `json:"duplicate,omitempty"`
	Corrupt           *CorruptSpec       `json:"corrupt,omitempty"`
	Bandwidth         *BandwidthSpec     `json:"bandwidth,omitempty"`
	Direction         Direction          `json:"direction,omitempty"`
	Target            *PodSelector       `json:"target,omitempty"`
	TargetDevice      string             `json:"targetDevice,omitempty"`
	ExternalTargets   []string           `json:"externalTargets,omitempty"`
	RemoteCluster     string             `json:"remoteCluster,omitempty"`
}

// NetworkChaos is one network fault.
type NetworkChaos struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              NetworkChaosSpec   `json:"spec"`
	Status            NetworkChaosStatus `json:"status,omitempty"`
}

// NetworkChaosStatus is Chaos Mesh's status of a NetworkChaos.
type NetworkChaosStatus struct {
	Conditions []ChaosCondition `json:"conditions,omitempty"`
	Experiment ExperimentStatus `json:"experiment"`
	Instances  map[string]int64 `json:"instances,omitempty"`
}

// ChaosConditionType names a condition.
type ChaosConditionType string

// The conditions the agent maintains.
const (
	ConditionSelected     ChaosConditionType = "Selected"
	ConditionAllInjected  ChaosConditionType = "AllInjected"
	ConditionAllRecovered ChaosConditionType = "AllRecovered"
)

// ChaosCondition is one entry of status.conditions; Status is "True" or "False".
type ChaosCondition struct {
	Type   ChaosConditionType `json:"type"`
	Status string             `json:"status"`
	Reason string             `json:"reason,omitempty"`
}

// DesiredPhase is status.experiment.desiredPhase.
type DesiredPhase string

// The phases.
const (
	RunningPhase DesiredPhase = "Run"
	StoppedPhase DesiredPhase = "Stop"
)

// ExperimentStatus is status.experiment.
type ExperimentStatus struct {
	DesiredPhase DesiredPhase `json:"desiredPhase,omitempty"`
	Records      []*Record    `json:"containerRecords,omitempty"`
}

// Phase is a record's phase.
type Phase string

// The phases of a record.
const (
	NotInjected Phase = "Not Injected"
	Injected    Phase = "Injected"
)

// Record is the state of one selected pod: Id is "namespace/name", SelectorKey "." for the
// selected pods and ".Target" for the target pods.
type Record struct {
	Id             string        `json:"id"` //nolint:revive // Chaos Mesh's field name
	SelectorKey    string        `json:"selectorKey"`
	Phase          Phase         `json:"phase"`
	InjectedCount  int           `json:"injectedCount"`
	RecoveredCount int           `json:"recoveredCount"`
	Events         []RecordEvent `json:"events,omitempty"`
}

// RecordEvent is one injection or recovery, successful or not.
type RecordEvent struct {
	Type      string       `json:"type"`      // "Succeeded" or "Failed"
	Operation string       `json:"operation"` // "Apply" or "Recover"
	Message   string       `json:"message,omitempty"`
	Timestamp *metav1.Time `json:"timestamp"`
}
