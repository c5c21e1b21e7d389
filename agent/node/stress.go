package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/chaostest/chaostest/agent/stress"
	"github.com/chaostest/chaostest/agent/v1alpha1"
)

// Stressor is one running stressor (a *stress.Process on a node).
type Stressor interface {
	// Pid is its process id on the node.
	Pid() int
	// Done is closed when it has exited; Err then says how.
	Done() <-chan struct{}
	// Err is how it exited (nil while it runs).
	Err() error
	// Stop kills it and waits until it is gone.
	Stop()
}

// StressRunner starts stressors in containers and cleans up after them.
type StressRunner interface {
	// Start runs a stressor doing s inside the container containerID of the pod podUID; tag
	// names it (in its command line).
	Start(podUID, containerID string, s v1alpha1.Stress, tag string) (Stressor, error)
	// KillStrays kills the stressors of the node that nobody tracks: this process's children
	// whose pid is not in keep, and orphans (whose parent died without them). It returns
	// their tags.
	KillStrays(keep map[int]bool) []string
}

// StressConfig configures a StressAgent.
type StressConfig struct {
	// Pods reads pods and Dynamic the StressChaos objects.
	Pods    corev1client.PodsGetter
	Dynamic dynamic.Interface
	// NodeName is the node this agent acts on.
	NodeName string
	// Namespace is the agent's own namespace, protected like the system namespaces.
	Namespace string
	// Runner starts the stressors; nil means NewStressRunner("", "", "").
	Runner StressRunner
	// Tick is how often time-based checks (duration, lease, exited stressors) run; default
	// 250 ms.
	Tick time.Duration
	// GCEvery is how often stray stressors are looked for; default 5 s.
	GCEvery time.Duration
	// Logf logs one line; nil means silent.
	Logf func(format string, args ...any)
}

// restartAfter is how long a stressor that exited while its fault is on (the OOM killer ended
// a memory stressor in a limited container) waits before it starts again, as memStress does.
const restartAfter = time.Second

type stressKey struct {
	uid types.UID // the StressChaos
	id  string    // namespace/pod/container
}

type running struct {
	s           Stressor
	podUID      types.UID
	containerID string
	stress      string // the checked stressors, as JSON, to restart on change
}

// StressAgent is one node's StressChaos controller: it starts a stressor in each selected
// container of its node, and stops it when the object is deleted, when spec.duration has
// passed, when the object's lease lapses, when the container is gone or restarted, and when
// the agent stops. Make it with NewStressAgent and start it with Run.
type StressAgent struct {
	controller
	cfg StressConfig
	rnd *rand.Rand

	mu      sync.Mutex
	running map[stressKey]running
	exited  map[stressKey]time.Time
}

// NewStressAgent checks cfg and returns a StressChaos controller.
func NewStressAgent(cfg StressConfig) (*StressAgent, error) {
	if cfg.Pods == nil || cfg.Dynamic == nil {
		return nil, fmt.Errorf("stress agent: Pods and Dynamic are required")
	}
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("stress agent: NodeName is required (the DaemonSet passes spec.nodeName as NODE_NAME)")
	}
	if cfg.Runner == nil {
		r, err := NewStressRunner("", "", "")
		if err != nil {
			return nil, err
		}
		cfg.Runner = r
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
	return &StressAgent{cfg: cfg, running: map[stressKey]running{}, exited: map[stressKey]time.Time{},
		controller: newController("stress agent", v1alpha1.StressGVR, cfg.Pods, cfg.Dynamic, cfg.NodeName, cfg.Tick, cfg.GCEvery, cfg.Logf),
		rnd:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))}, nil
}

// Run serves until ctx ends, then stops every stressor it started.
func (a *StressAgent) Run(ctx context.Context) error {
	return a.run(ctx, hooks{reconcile: a.reconcile, gc: a.gc, stopAll: a.stopAll,
		gone: func(uid types.UID, why string) { a.stopWhere(func(k stressKey) bool { return k.uid == uid }, why) }})
}

// stopWhere stops the stressors whose key matches.
func (a *StressAgent) stopWhere(match func(stressKey) bool, why string) {
	a.mu.Lock()
	var keys []stressKey
	for k := range a.running {
		if match(k) {
			keys = append(keys, k)
		}
	}
	a.mu.Unlock()
	for _, k := range keys {
		a.stop(k, why)
	}
}

func (a *StressAgent) stop(k stressKey, why string) {
	a.mu.Lock()
	r, ok := a.running[k]
	delete(a.running, k)
	delete(a.exited, k)
	a.mu.Unlock()
	if !ok {
		return
	}
	r.s.Stop()
	a.cfg.Logf("stopped the stressor (pid %d) of %s in %s (%s)", r.s.Pid(), k.uid, k.id, why)
}

func (a *StressAgent) stopAll() {
	a.stopWhere(func(stressKey) bool { return true }, "agent stopping")
}

// gc kills the stressors nobody tracks (see StressRunner.KillStrays).
func (a *StressAgent) gc() {
	a.mu.Lock()
	keep := map[int]bool{}
	for _, r := range a.running {
		keep[r.s.Pid()] = true
	}
	a.mu.Unlock()
	for _, tag := range a.cfg.Runner.KillStrays(keep) {
		a.cfg.Logf("killed a stray stressor %s", tag)
	}
}

// StressTag is the tag of the stressor of the StressChaos uid in container id
// ("namespace/pod/container"): tests and the garbage collection find stressors by it.
func StressTag(uid types.UID, id string) string { return string(uid) + "/" + id }

func (a *StressAgent) reconcile(key string) error {
	u, sc, err := load[v1alpha1.StressChaos](&a.controller, key)
	if sc == nil {
		return err
	}
	now := time.Now()
	st := deepCopy(&sc.Status)
	checkErr := sc.Spec.Check()
	why := a.why(&sc.ObjectMeta, sc.Spec.Duration, checkErr, now)
	allowSystem := sc.Annotations[v1alpha1.AllowSystemNamespacesAnnotation] == "true"

	if len(st.Experiment.Records) == 0 {
		selectOnce(&st.Experiment, &st.Conditions, why, func() ([]*v1alpha1.Record, error) { return a.selectContainers(sc, allowSystem) })
		return writeStatus(&a.controller, u, &sc.Status, st)
	}

	spec, _ := v1alpha1.ParseStressors(sc.Spec.Stressors)
	specJSON, _ := json.Marshal(spec)
	for _, r := range st.Experiment.Records {
		k := stressKey{uid: sc.UID, id: r.Id}
		parts := strings.SplitN(r.Id, "/", 3)
		if len(parts) != 3 {
			continue
		}
		p := a.pod(parts[0], parts[1])
		if p != nil && p.Spec.NodeName != a.cfg.NodeName {
			continue // another agent's
		}
		cid := runningContainerID(p, parts[2])
		a.mu.Lock()
		cur, has := a.running[k]
		a.mu.Unlock()
		if has && (cid == "" || cur.containerID != cid || cur.podUID != p.UID) {
			// The container is gone or restarted: its cgroup must be left free.
			a.stop(k, "container gone or restarted")
			has = false
		}
		if has {
			select {
			case <-cur.s.Done():
				a.mu.Lock()
				delete(a.running, k)
				a.exited[k] = now
				a.mu.Unlock()
				msg := fmt.Sprintf("the stressor (pid %d) exited: %v", cur.s.Pid(), cur.s.Err())
				a.cfg.Logf("%s in %s: %s", sc.UID, r.Id, msg)
				addEvent(r, "Apply", "Failed", msg, now)
				has = false
			default:
			}
		}
		if has && why == "" && cur.stress != string(specJSON) {
			a.stop(k, "stressors changed")
			has = false
		}
		if why == "" && cid != "" {
			if !has {
				a.mu.Lock()
				last, exited := a.exited[k]
				a.mu.Unlock()
				if exited && now.Sub(last) < restartAfter {
					continue
				}
				start := time.Now()
				s, err := a.cfg.Runner.Start(string(p.UID), cid, spec, StressTag(sc.UID, r.Id))
				if err != nil {
					addEvent(r, "Apply", "Failed", err.Error(), now)
					_ = writeStatus(&a.controller, u, &sc.Status, st)
					return err
				}
				a.mu.Lock()
				a.running[k] = running{s: s, podUID: p.UID, containerID: cid, stress: string(specJSON)}
				delete(a.exited, k)
				a.mu.Unlock()
				a.cfg.Logf("started a stressor (pid %d) for %s in %s in %s", s.Pid(), sc.Name, r.Id, time.Since(start).Round(time.Microsecond))
				if st.Instances == nil {
					st.Instances = map[string]v1alpha1.StressInstance{}
				}
				ts := metav1.NewTime(now)
				st.Instances[r.Id] = v1alpha1.StressInstance{UID: strconv.Itoa(s.Pid()), StartTime: &ts}
			}
			if r.Phase != v1alpha1.Injected {
				markPhase(r, v1alpha1.Injected, "Apply", "Succeeded", "", now)
			}
			continue
		}
		reason := why
		if reason == "" {
			reason = "container not running"
		}
		if has {
			a.stop(k, reason)
		}
		delete(st.Instances, r.Id)
		switch {
		case r.Phase == v1alpha1.Injected:
			markPhase(r, v1alpha1.NotInjected, "Recover", "Succeeded", reason, now)
		case checkErr != nil:
			if n := len(r.Events); n == 0 || r.Events[n-1].Message != why {
				addEvent(r, "Apply", "Failed", why, now)
			}
		}
	}
	if len(st.Instances) == 0 {
		st.Instances = nil
	}
	summarize(&st.Experiment, &st.Conditions, why)
	return writeStatus(&a.controller, u, &sc.Status, st)
}

// runningContainerID is the ID (without the runtime's "containerd://" prefix) of the running
// container name of p, "" when p is nil or the container does not run.
func runningContainerID(p *corev1.Pod, name string) string {
	if p == nil || p.DeletionTimestamp != nil {
		return ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name && cs.State.Running != nil && cs.ContainerID != "" {
			if _, id, ok := strings.Cut(cs.ContainerID, "://"); ok {
				return id
			}
			return cs.ContainerID
		}
	}
	return ""
}

// selectContainers picks the pods as for a NetworkChaos and, in each, the containers named in
// spec.containerNames (the first container when none is named, as in Chaos Mesh).
func (a *StressAgent) selectContainers(sc *v1alpha1.StressChaos, allowSystem bool) ([]*v1alpha1.Record, error) {
	var list []*corev1.Pod
	for _, obj := range a.podi.GetStore().List() {
		list = append(list, obj.(*corev1.Pod))
	}
	return pickContainers(sc, list, a.cfg.Namespace, allowSystem, a.rnd)
}

// pickContainers is selectContainers over the pods pods.
func pickContainers(sc *v1alpha1.StressChaos, pods []*corev1.Pod, ownNS string, allowSystem bool, rnd *rand.Rand) ([]*v1alpha1.Record, error) {
	sel := sc.Spec.PodSelector
	if sel.Selector.Empty() {
		return nil, fmt.Errorf("refusing an empty selector (it would match every pod of the namespace): give labelSelectors, expressionSelectors, annotationSelectors or pods")
	}
	m, err := compile(sel.Selector, sc.Namespace, ownNS, allowSystem)
	if err != nil {
		return nil, err
	}
	var matched []*corev1.Pod
	for _, p := range pods {
		if m.match(p) {
			matched = append(matched, p)
		}
	}
	chosen, err := pick(matched, sel.Mode, sel.Value, rnd)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	var recs []*v1alpha1.Record
	for _, p := range chosen {
		names := sc.Spec.ContainerNames
		if len(names) == 0 && len(p.Spec.Containers) > 0 {
			names = []string{p.Spec.Containers[0].Name}
		}
		for _, c := range p.Spec.Containers {
			for _, n := range names {
				if c.Name == n {
					recs = append(recs, &v1alpha1.Record{Id: p.Namespace + "/" + p.Name + "/" + c.Name, SelectorKey: ".", Phase: v1alpha1.NotInjected})
				}
			}
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no container named %s in the selected pods", strings.Join(sc.Spec.ContainerNames, ", "))
	}
	return recs, nil
}

// cgroupRunner is the StressRunner of a node: stressors are this binary (its main serves
// stress.Subcommand), moved into the container's cgroups found below a cgroup root.
type cgroupRunner struct {
	exe, cgroupRoot, procRoot string
}

// NewStressRunner returns the StressRunner the agent uses on Linux: stressors are exe (""
// means this process's own binary, whose main must call stress.Main for
// stress.Subcommand), put in the containers' cgroups found below cgroupRoot (""
// means "/sys/fs/cgroup"; in the agent's pod, the host's /sys/fs/cgroup mounted there), with
// processes read through procRoot ("" means "/proc", the host's with hostPID).
func NewStressRunner(exe, cgroupRoot, procRoot string) (StressRunner, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("stress agent: this binary's path: %w", err)
		}
	}
	if cgroupRoot == "" {
		cgroupRoot = "/sys/fs/cgroup"
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	return &cgroupRunner{exe: exe, cgroupRoot: cgroupRoot, procRoot: procRoot}, nil
}

func (c *cgroupRunner) Start(podUID, containerID string, s v1alpha1.Stress, tag string) (Stressor, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	dirs, err := stress.ContainerDirs(stress.Hierarchies(mi, c.cgroupRoot), podUID, containerID)
	if err != nil {
		return nil, err
	}
	spec := stress.Spec{CPUWorkers: s.CPUWorkers, CPULoad: s.CPULoad, MemBytes: s.MemBytes, MemWorkers: s.MemWorkers, MemTime: s.MemTime}
	if s.MemPercent > 0 {
		total, err := stress.MemTotal(c.procRoot)
		if err != nil {
			return nil, err
		}
		spec.MemBytes = uint64(float64(total) * s.MemPercent / 100)
	}
	p, err := stress.Start(c.exe, nil, spec, tag, os.Stderr)
	if err != nil {
		return nil, err
	}
	if err := p.Join(dirs); err != nil {
		p.Stop()
		return nil, err
	}
	if err := p.Begin(c.procRoot, s.OOMScoreAdj); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (c *cgroupRunner) KillStrays(keep map[int]bool) []string {
	found, err := stress.Running(c.procRoot, "")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []string
	for _, f := range found {
		if (f.PPID == self && !keep[f.PID]) || f.Orphan {
			if syscall.Kill(f.PID, syscall.SIGKILL) == nil {
				out = append(out, f.Tag)
			}
		}
	}
	sort.Strings(out)
	return out
}
