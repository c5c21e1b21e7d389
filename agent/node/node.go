// Package node is chaostest's node agent: a controller, run as a privileged DaemonSet (one
// per node, hostNetwork and hostPID), that serves the Chaos Mesh NetworkChaos kind
// (package v1alpha1) on clusters without Chaos Mesh.
//
// Each agent watches NetworkChaos objects, selects the pods once (the first agent to see an
// object records the choice in its status), and for the selected pods on its own node applies
// the fault inside the pod's network namespace as one nftables table named after the object's
// UID (package nft). It removes the table when the object is deleted, when spec.duration has
// passed, when the object's lease (annotations v1alpha1.LeaseSecondsAnnotation and
// LeaseRenewAnnotation, measured on the agent's own clock) lapses, and when it stops; a
// periodic pass removes any chaostest table whose object is gone or no longer active, which
// also cleans up after a crash once the DaemonSet restarted the agent.
//
// [Install], [Uninstall] and [InstallLocal] put the agent on a cluster; cmd/chaostest-agent is
// its binary. docs/ARCHITECTURE.md describes the fault lifecycle.
package node

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/chaostest/chaostest/agent/nft"
	"github.com/chaostest/chaostest/agent/v1alpha1"
)

// Fault is what the agent applies to one pod: the nftables table, and for a delay, duplicate or
// corrupt fault (Queue set) what the verdict loop does to each queued packet.
type Fault struct {
	nft.Fault
	// Delay is the latency, jitter and correlation of a delay fault, with its reordering.
	Delay v1alpha1.Delay
	// Duplicate and Corrupt are the packets a duplicate or corrupt fault sends twice or with a
	// bit flipped.
	Duplicate *v1alpha1.Chance `json:",omitempty"`
	Corrupt   *v1alpha1.Chance `json:",omitempty"`
	// Bandwidth, for a bandwidth fault, is the TBF put on the pod's links (the table then
	// drops nothing: it marks the pod as holding the fault, for removal and garbage collection).
	Bandwidth *v1alpha1.Bandwidth `json:",omitempty"`
}

// QueueNum is the nfnetlink queue number of the fault whose table is table: 1 to 65535, from a
// hash of the name, so that two delay faults on one pod (rare) most likely get two queues.
func QueueNum(table string) uint16 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(table))
	return uint16(h.Sum32()%65535) + 1
}

// Injector applies and removes faults in a pod's network namespace, by pod UID.
type Injector interface {
	// Apply installs (or atomically replaces) the fault's table, with its verdict loop for a
	// delay.
	Apply(podUID string, f Fault) error
	// Remove deletes the table (and stops its verdict loop); it reports whether it was there.
	Remove(podUID, table string) (bool, error)
	// Tables lists the chaostest tables in the pod's netns.
	Tables(podUID string) ([]string, error)
}

// Config configures an Agent.
type Config struct {
	// Pods reads pods (a clientset's CoreV1()) and Dynamic the NetworkChaos objects. The agent
	// needs nothing else, which keeps its binary small.
	Pods    corev1client.PodsGetter
	Dynamic dynamic.Interface
	// NodeName is the node this agent acts on.
	NodeName string
	// Namespace is the agent's own namespace, protected like the system namespaces.
	Namespace string
	// Injector does the kernel work; nil means NewInjector("/proc").
	Injector Injector
	// Tick is how often time-based checks (duration, lease) run; default 250 ms.
	Tick time.Duration
	// GCEvery is how often pod netns are scanned for stray tables; default 5 s.
	GCEvery time.Duration
	// Logf logs one line; nil means silent.
	Logf func(format string, args ...any)
}

// TableName is the nftables table of the fault with object UID uid.
func TableName(uid types.UID) string {
	return nft.Prefix + strings.ReplaceAll(string(uid), "-", "")
}

type podKey struct {
	uid types.UID // the NetworkChaos
	pod types.UID
}

type applied struct {
	table string
	fault string // the fault's JSON, to re-apply on change
	id    string // namespace/name of the pod
}

// Agent is one node's controller; make it with New and start it with Run.
type Agent struct {
	controller
	cfg Config
	rnd *rand.Rand

	mu      sync.Mutex
	applied map[podKey]applied
}

// New checks cfg and returns an agent.
func New(cfg Config) (*Agent, error) {
	if cfg.Pods == nil || cfg.Dynamic == nil {
		return nil, fmt.Errorf("agent: Pods and Dynamic are required")
	}
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("agent: NodeName is required (the DaemonSet passes spec.nodeName as NODE_NAME)")
	}
	if cfg.Injector == nil {
		cfg.Injector = NewInjector("")
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.GCEvery <= 0 {
		cfg.GCEvery = 5 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	a := &Agent{cfg: cfg, applied: map[podKey]applied{},
		controller: newController("agent", v1alpha1.GVR, cfg.Pods, cfg.Dynamic, cfg.NodeName, cfg.Tick, cfg.GCEvery, cfg.Logf),
		rnd:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 10))}
	return a, nil
}

// Run serves until ctx ends, then removes every fault it applied.
func (a *Agent) Run(ctx context.Context) error {
	return a.run(ctx, hooks{reconcile: a.reconcile, gone: a.removeUID, gc: a.gc, stopAll: a.removeAll})
}

// removeUID removes every table of the object uid on this node.
func (a *Agent) removeUID(uid types.UID, why string) {
	a.mu.Lock()
	var keys []podKey
	for k := range a.applied {
		if k.uid == uid {
			keys = append(keys, k)
		}
	}
	a.mu.Unlock()
	for _, k := range keys {
		a.recoverPod(k, why)
	}
}

// recoverPod removes one table and forgets it; an absent netns (pod gone) counts as removed.
func (a *Agent) recoverPod(k podKey, why string) error {
	a.mu.Lock()
	ap, ok := a.applied[k]
	a.mu.Unlock()
	if !ok {
		return nil
	}
	if _, err := a.cfg.Injector.Remove(string(k.pod), ap.table); err != nil && !strings.Contains(err.Error(), "no process of pod") {
		return err
	}
	a.mu.Lock()
	delete(a.applied, k)
	a.mu.Unlock()
	a.cfg.Logf("removed %s from pod %s (%s)", ap.table, ap.id, why)
	return nil
}

func (a *Agent) removeAll() {
	a.mu.Lock()
	var keys []podKey
	for k := range a.applied {
		keys = append(keys, k)
	}
	a.mu.Unlock()
	for _, k := range keys {
		_ = a.recoverPod(k, "agent stopping")
	}
}

// gc removes chaostest tables, in the netns of every running pod of this node, that belong to
// no object this agent currently keeps applied.
func (a *Agent) gc() {
	a.mu.Lock()
	want := map[string]bool{}
	for k, ap := range a.applied {
		want[string(k.pod)+"/"+ap.table] = true
	}
	a.mu.Unlock()
	for _, obj := range a.podi.GetStore().List() {
		p := obj.(*corev1.Pod)
		if p.Spec.NodeName != a.cfg.NodeName || p.Spec.HostNetwork || p.Status.Phase != corev1.PodRunning {
			continue
		}
		tables, err := a.cfg.Injector.Tables(string(p.UID))
		if err != nil {
			continue
		}
		for _, t := range tables {
			if want[string(p.UID)+"/"+t] {
				continue
			}
			if _, err := a.cfg.Injector.Remove(string(p.UID), t); err == nil {
				a.cfg.Logf("removed stray table %s from pod %s/%s", t, p.Namespace, p.Name)
			}
		}
		if o, ok := a.cfg.Injector.(orphanRemover); ok {
			if removed, err := o.RemoveOrphans(string(p.UID)); err == nil && removed {
				a.cfg.Logf("removed a stray qdisc from pod %s/%s", p.Namespace, p.Name)
			}
		}
	}
}

// orphanRemover is implemented by injectors that can leave kernel state outside the fault's
// table (the bandwidth qdisc): RemoveOrphans removes it when the pod holds no table.
type orphanRemover interface {
	RemoveOrphans(podUID string) (bool, error)
}

func (a *Agent) reconcile(key string) error {
	u, nc, err := load[v1alpha1.NetworkChaos](&a.controller, key)
	if nc == nil {
		return err
	}
	now := time.Now()
	st := deepCopy(&nc.Status)
	checkErr := nc.Spec.Check()
	why := a.why(&nc.ObjectMeta, nc.Spec.Duration, checkErr, now)
	allowSystem := nc.Annotations[v1alpha1.AllowSystemNamespacesAnnotation] == "true"

	if len(st.Experiment.Records) == 0 {
		selectOnce(&st.Experiment, &st.Conditions, why, func() ([]*v1alpha1.Record, error) { return a.selectPods(nc, allowSystem) })
		return writeStatus(&a.controller, u, &nc.Status, st)
	}

	fault, faultErr := a.fault(nc, st)
	if why == "" && faultErr != nil {
		why = faultErr.Error()
	}
	anyInjected := false
	for _, r := range st.Experiment.Records {
		if r.SelectorKey != "." {
			continue
		}
		ns, name, _ := strings.Cut(r.Id, "/")
		p := a.pod(ns, name)
		if p == nil || p.Spec.NodeName != a.cfg.NodeName {
			if r.Phase == v1alpha1.Injected {
				anyInjected = true
			}
			if p == nil && r.Phase == v1alpha1.Injected && a.ownsRecord(nc.UID, r.Id) {
				a.forget(nc.UID, r.Id)
				markPhase(r, v1alpha1.NotInjected, "Recover", "Succeeded", "pod is gone", now)
			}
			continue
		}
		k := podKey{uid: nc.UID, pod: p.UID}
		if why == "" {
			fj, _ := json.Marshal(fault)
			a.mu.Lock()
			ap, ok := a.applied[k]
			a.mu.Unlock()
			if !ok || ap.fault != string(fj) {
				start := time.Now()
				if err := a.cfg.Injector.Apply(string(p.UID), fault); err != nil {
					addEvent(r, "Apply", "Failed", err.Error(), now)
					_ = writeStatus(&a.controller, u, &nc.Status, st)
					return err
				}
				a.mu.Lock()
				a.applied[k] = applied{table: fault.Table, fault: string(fj), id: r.Id}
				a.mu.Unlock()
				a.cfg.Logf("applied %s %s to pod %s in %s", nc.Spec.Action, fault.Table, r.Id, time.Since(start).Round(time.Microsecond))
			}
			if r.Phase != v1alpha1.Injected {
				markPhase(r, v1alpha1.Injected, "Apply", "Succeeded", "", now)
			}
			anyInjected = true
			continue
		}
		if err := a.recoverPod(k, why); err != nil {
			addEvent(r, "Recover", "Failed", err.Error(), now)
			_ = writeStatus(&a.controller, u, &nc.Status, st)
			return err
		}
		switch {
		case r.Phase == v1alpha1.Injected:
			markPhase(r, v1alpha1.NotInjected, "Recover", "Succeeded", why, now)
		case checkErr != nil || faultErr != nil:
			if n := len(r.Events); n == 0 || r.Events[n-1].Message != why {
				addEvent(r, "Apply", "Failed", why, now)
			}
		}
	}
	for _, r := range st.Experiment.Records {
		if r.SelectorKey == ".Target" {
			want := v1alpha1.NotInjected
			if anyInjected {
				want = v1alpha1.Injected
			}
			r.Phase = want
		}
	}
	summarize(&st.Experiment, &st.Conditions, why)
	return writeStatus(&a.controller, u, &nc.Status, st)
}

func (a *Agent) ownsRecord(uid types.UID, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, ap := range a.applied {
		if k.uid == uid && ap.id == id {
			return true
		}
	}
	return false
}

// forget drops the record of a pod that is gone; the injector still releases what it holds for
// it (a delay's queue, whose socket would otherwise keep the dead pod's netns alive).
func (a *Agent) forget(uid types.UID, id string) {
	a.mu.Lock()
	var gone []podKey
	var tables []string
	for k, ap := range a.applied {
		if k.uid == uid && ap.id == id {
			gone, tables = append(gone, k), append(tables, ap.table)
			delete(a.applied, k)
		}
	}
	a.mu.Unlock()
	for i, k := range gone {
		_, _ = a.cfg.Injector.Remove(string(k.pod), tables[i])
	}
}

func (a *Agent) selectPods(nc *v1alpha1.NetworkChaos, allowSystem bool) ([]*v1alpha1.Record, error) {
	if nc.Spec.Selector.Empty() {
		return nil, fmt.Errorf("refusing an empty selector (it would match every pod of the namespace): give labelSelectors, expressionSelectors, annotationSelectors or pods")
	}
	var recs []*v1alpha1.Record
	for _, s := range []struct {
		key string
		sel *v1alpha1.PodSelector
	}{{".", &nc.Spec.PodSelector}, {".Target", nc.Spec.Target}} {
		if s.sel == nil {
			continue
		}
		m, err := compile(s.sel.Selector, nc.Namespace, a.cfg.Namespace, allowSystem)
		if err != nil {
			return nil, err
		}
		var pods []*corev1.Pod
		for _, obj := range a.podi.GetStore().List() {
			if p := obj.(*corev1.Pod); m.match(p) {
				pods = append(pods, p)
			}
		}
		chosen, err := pick(pods, s.sel.Mode, s.sel.Value, a.rnd)
		if err != nil {
			where := "selector"
			if s.key == ".Target" {
				where = "target"
			}
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		for _, p := range chosen {
			recs = append(recs, &v1alpha1.Record{Id: p.Namespace + "/" + p.Name, SelectorKey: s.key, Phase: v1alpha1.NotInjected})
		}
	}
	return recs, nil
}

// fault builds the kernel fault of nc: direction, peers (target pods' IPs and external
// targets), loss, partition, delay (with reorder), duplicate, corrupt or bandwidth.
func (a *Agent) fault(nc *v1alpha1.NetworkChaos, st *v1alpha1.NetworkChaosStatus) (Fault, error) {
	f := Fault{Fault: nft.Fault{Table: TableName(nc.UID)}}
	switch nc.Spec.Direction {
	case "", v1alpha1.To:
		f.Egress = true
	case v1alpha1.From:
		f.Ingress = true
	case v1alpha1.Both:
		f.Egress, f.Ingress = true, true
	}
	restricted := nc.Spec.Target != nil || len(nc.Spec.ExternalTargets) > 0
	for _, r := range st.Experiment.Records {
		if r.SelectorKey != ".Target" {
			continue
		}
		ns, name, _ := strings.Cut(r.Id, "/")
		if p := a.pod(ns, name); p != nil && p.Status.PodIP != "" {
			if n, err := v1alpha1.ParseTarget(p.Status.PodIP); err == nil {
				f.Peers = append(f.Peers, n)
			}
		}
	}
	for _, t := range nc.Spec.ExternalTargets {
		n, err := v1alpha1.ParseTarget(t)
		if err != nil {
			return f, err
		}
		f.Peers = append(f.Peers, n)
	}
	if restricted && len(f.Peers) == 0 {
		return f, fmt.Errorf("no address for the target pods (gone, or without an IP yet): nothing to apply")
	}
	switch nc.Spec.Action {
	case v1alpha1.PartitionAction:
		f.Partition = true
	case v1alpha1.LossAction:
		p, err := v1alpha1.ParsePercent(nc.Spec.Loss.Loss)
		if err != nil {
			return f, err
		}
		f.LossPercent = p
	case v1alpha1.DelayAction:
		d, err := v1alpha1.ParseDelay(nc.Spec.Delay)
		if err != nil {
			return f, err
		}
		f.Delay = d
		f.Queue = QueueNum(f.Table)
	case v1alpha1.DuplicateAction:
		c, err := v1alpha1.ParseDuplicate(nc.Spec.Duplicate)
		if err != nil {
			return f, err
		}
		f.Duplicate = &c
		f.Queue = QueueNum(f.Table)
	case v1alpha1.CorruptAction:
		c, err := v1alpha1.ParseCorrupt(nc.Spec.Corrupt)
		if err != nil {
			return f, err
		}
		f.Corrupt = &c
		f.Queue = QueueNum(f.Table)
	case v1alpha1.BandwidthAction:
		b, err := v1alpha1.ParseBandwidth(nc.Spec.Bandwidth)
		if err != nil {
			return f, err
		}
		f.Bandwidth = &b
	}
	return f, nil
}

const maxEvents = 10

func addEvent(r *v1alpha1.Record, op, typ, msg string, now time.Time) {
	ts := metav1.NewTime(now)
	r.Events = append(r.Events, v1alpha1.RecordEvent{Type: typ, Operation: op, Message: msg, Timestamp: &ts})
	if len(r.Events) > maxEvents {
		r.Events = r.Events[len(r.Events)-maxEvents:]
	}
}

func markPhase(r *v1alpha1.Record, ph v1alpha1.Phase, op, typ, msg string, now time.Time) {
	r.Phase = ph
	if ph == v1alpha1.Injected {
		r.InjectedCount++
	} else {
		r.RecoveredCount++
	}
	addEvent(r, op, typ, msg, now)
}
