package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/chaostest/chaostest/agent/v1alpha1"
)

func stressPod(name, node string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c,
			ContainerID: "containerd://id-" + name + "-" + c, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	}
	return p
}

func TestPickContainers(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	sc := &v1alpha1.StressChaos{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}
	sc.Spec.Mode = v1alpha1.AllMode
	sc.Spec.Selector.LabelSelectors = map[string]string{"app": "web"}
	ps := []*corev1.Pod{stressPod("a", "n", "app", "sidecar"), stressPod("b", "n", "app")}
	recs, err := pickContainers(sc, ps, "own", false, rnd)
	require.NoError(t, err)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Id)
	}
	assert.Equal(t, []string{"ns/a/app", "ns/b/app"}, ids, "the first container when none is named")
	sc.Spec.ContainerNames = []string{"sidecar"}
	recs, err = pickContainers(sc, ps, "own", false, rnd)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "ns/a/sidecar", recs[0].Id)
	sc.Spec.ContainerNames = []string{"nope"}
	_, err = pickContainers(sc, ps, "own", false, rnd)
	assert.ErrorContains(t, err, "no container named nope")
	sc.Spec.Selector.LabelSelectors = nil
	_, err = pickContainers(sc, ps, "own", false, rnd)
	assert.ErrorContains(t, err, "refusing an empty selector")
	sc.Spec.Selector.LabelSelectors = map[string]string{"app": "web"}
	sc.Spec.Selector.Namespaces = []string{"kube-system"}
	_, err = pickContainers(sc, ps, "own", false, rnd)
	assert.ErrorContains(t, err, "protected namespace")
}

func TestRunningContainerID(t *testing.T) {
	p := stressPod("a", "n", "app")
	assert.Equal(t, "id-a-app", runningContainerID(p, "app"))
	assert.Equal(t, "", runningContainerID(p, "other"))
	assert.Equal(t, "", runningContainerID(nil, "app"))
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}
	assert.Equal(t, "", runningContainerID(p, "app"))
}

// fakeRunner records the stressors the agent starts; they run until stopped (or exit()).
type fakeRunner struct {
	mu      sync.Mutex
	started []string // containerID tags
	live    map[string]*fakeStressor
	fail    error
}

type fakeStressor struct {
	pid  int
	done chan struct{}
	once sync.Once
	err  error
}

func (f *fakeStressor) Pid() int              { return f.pid }
func (f *fakeStressor) Done() <-chan struct{} { return f.done }
func (f *fakeStressor) Err() error            { return f.err }
func (f *fakeStressor) Stop()                 { f.once.Do(func() { close(f.done) }) }

func (r *fakeRunner) Start(podUID, cid string, s v1alpha1.Stress, tag string) (Stressor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	st := &fakeStressor{pid: 1000 + len(r.started), done: make(chan struct{})}
	r.started = append(r.started, cid)
	r.live[cid] = st
	return st, nil
}

func (r *fakeRunner) KillStrays(map[int]bool) []string { return nil }

// running lists the container IDs with a live stressor.
func (r *fakeRunner) running() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, s := range r.live {
		select {
		case <-s.done:
		default:
			out = append(out, id)
		}
	}
	return out
}

// The controller over fake API clients: a StressChaos starts a stressor in the selected
// container of this node's pod (not in the other node's), records it in the status, stops
// it when its duration ends, when its lease is not renewed, and when it is deleted, and
// restarts one that exited while the fault is on.
func TestStressAgentLifecycle(t *testing.T) {
	// The fake clients do not stream a watch list (the real API server does).
	t.Setenv("KUBE_FEATURE_WatchListClient", "false")
	cs := fake.NewSimpleClientset(stressPod("a", "here", "app"), stressPod("b", "there", "app"))
	scheme := runtime.NewScheme()
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{v1alpha1.StressGVR: "StressChaosList"})
	runner := &fakeRunner{live: map[string]*fakeStressor{}}
	a, err := NewStressAgent(StressConfig{Pods: cs.CoreV1(), Dynamic: dyn, NodeName: "here", Namespace: "own", Runner: runner, Tick: 20 * time.Millisecond, Logf: t.Logf})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
		assert.Empty(t, runner.running(), "the agent stops its stressors as it stops")
	}()

	res := dyn.Resource(v1alpha1.StressGVR).Namespace("ns")
	create := func(name string, annotations map[string]any, duration string) {
		spec := map[string]any{"mode": "all", "selector": map[string]any{"labelSelectors": map[string]any{"app": "web"}},
			"stressors": map[string]any{"cpu": map[string]any{"workers": int64(1), "load": int64(50)}}}
		if duration != "" {
			spec["duration"] = duration
		}
		md := map[string]any{"name": name, "namespace": "ns", "uid": name + "-uid", "creationTimestamp": time.Now().UTC().Format(time.RFC3339)}
		if annotations != nil {
			md["annotations"] = annotations
		}
		_, err := res.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "StressChaos", "metadata": md, "spec": spec}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	eventually := func(what string, f func() bool) {
		t.Helper()
		require.Eventually(t, f, 5*time.Second, 10*time.Millisecond, what)
	}
	status := func(name string) *v1alpha1.StressChaosStatus {
		u, err := res.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		sc, err := decode[v1alpha1.StressChaos](u)
		require.NoError(t, err)
		return &sc.Status
	}

	create("burn", nil, "")
	eventually("a stressor in pod a's container", func() bool { return len(runner.running()) == 1 && runner.running()[0] == "id-a-app" })
	eventually("status: both records, a's injected with its instance", func() bool {
		st := status("burn")
		if len(st.Experiment.Records) != 2 || st.Instances["ns/a/app"].UID == "" {
			return false
		}
		for _, r := range st.Experiment.Records {
			if r.Id == "ns/a/app" && r.Phase != v1alpha1.Injected {
				return false
			}
		}
		return true
	})

	// An exited stressor (e.g. the OOM killer) starts again after restartAfter.
	runner.mu.Lock()
	s := runner.live["id-a-app"]
	s.err = errors.New("signal: killed")
	runner.mu.Unlock()
	s.Stop()
	exited := time.Now()
	eventually("restarted", func() bool { return len(runner.running()) == 1 })
	assert.GreaterOrEqual(t, time.Since(exited), restartAfter)

	require.NoError(t, res.Delete(ctx, "burn", metav1.DeleteOptions{}))
	eventually("stopped on deletion", func() bool { return len(runner.running()) == 0 })

	create("short", nil, "1500ms")
	eventually("started", func() bool { return len(runner.running()) == 1 })
	// creationTimestamp has a one-second resolution: the duration ends 0.5 to 1.5 s from now.
	eventually("stopped when the duration ends", func() bool { return len(runner.running()) == 0 })
	eventually("recorded as recovered", func() bool {
		st := status("short")
		return st.Experiment.DesiredPhase == v1alpha1.StoppedPhase && st.Instances == nil
	})

	create("leased", map[string]any{v1alpha1.LeaseSecondsAnnotation: "0.3", v1alpha1.LeaseRenewAnnotation: "0"}, "")
	eventually("started", func() bool { return len(runner.running()) == 1 })
	started := time.Now()
	eventually("stopped when the lease lapses", func() bool { return len(runner.running()) == 0 })
	assert.Less(t, time.Since(started), 2*time.Second)
}
