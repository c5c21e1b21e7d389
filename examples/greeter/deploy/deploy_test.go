package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

func TestObjectsInApplyOrder(t *testing.T) {
	for _, mode := range []service.Mode{service.Fragile, service.Resilient} {
		objs, err := Objects(mode)
		require.NoError(t, err)
		var got []string
		for _, o := range objs {
			got = append(got, o.Kind+"/"+o.Name)
			var m map[string]any
			require.NoError(t, json.Unmarshal(o.JSON, &m), "%s is JSON", o.Name)
		}
		assert.Equal(t, []string{
			"Service/name-service", "Service/greeter-service", "Service/webapp-service",
			"Deployment/name-deployment", "Deployment/greeter-deployment", "Deployment/webapp-deployment",
		}, got, "mode %s", mode)
		last := objs[len(objs)-1]
		var dep appsv1.Deployment
		require.NoError(t, json.Unmarshal(last.JSON, &dep))
		assert.Equal(t, string(mode), dep.Spec.Template.Labels[ModeLabel], "webapp's pod template says its mode")
	}
	_, err := Objects("sturdy")
	assert.ErrorContains(t, err, `got "sturdy"`)
}

func TestParseManifestRejects(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"kind":       {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `want kind Service or Deployment, got "ConfigMap"`},
		"apiVersion": {"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n", `want apiVersion "apps/v1", got "extensions/v1beta1"`},
		"name":       {"apiVersion: v1\nkind: Service\nmetadata: {}\n", "no metadata.name"},
		"namespace":  {"apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: prod}\n", `got "prod"`},
		"not object": {"- a\n- b\n", "want an object"},
		"bad yaml":   {"kind: [\n", "document 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.yaml))
			assert.ErrorContains(t, err, tc.want)
		})
	}
	objs, err := parseManifest([]byte("# only a comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"))
	require.NoError(t, err)
	require.Len(t, objs, 1, "comment-only documents are skipped")
	assert.Equal(t, "a", objs[0].Name)
}

func pod(name string, phase corev1.PodPhase, ready, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Status: corev1.PodStatus{Phase: phase}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestConditions(t *testing.T) {
	one := exactlyReadyPods(1)
	ok, seen := one([]runtime.Object{pod("a", corev1.PodRunning, true, false)})
	assert.True(t, ok, seen)
	ok, seen = one([]runtime.Object{pod("a", corev1.PodRunning, true, false), pod("b", corev1.PodRunning, true, true)})
	assert.False(t, ok, "an old pod being deleted is still there")
	assert.Equal(t, "2 pods: 1 Running and ready, 1 being deleted (want exactly 1, all ready)", seen)
	ok, _ = one([]runtime.Object{pod("a", corev1.PodRunning, false, false)})
	assert.False(t, ok, "not ready (greeter's readiness delay)")
	ok, _ = one(nil)
	assert.False(t, ok)

	ok, seen = noPods([]runtime.Object{pod("a", corev1.PodRunning, true, true)})
	assert.False(t, ok)
	assert.Equal(t, "1 pods left [a]", seen)
	ok, _ = noPods(nil)
	assert.True(t, ok)

	two := int32(2)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: &two}}
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	ok, seen = deploymentRolledOut([]runtime.Object{dep})
	assert.False(t, ok, "the controller has not seen generation 3 yet")
	assert.Equal(t, "generation 3 observed 2; 2/2 updated, 2 ready, 2 available, 2 total", seen)
	dep.Status.ObservedGeneration = 3
	ok, _ = deploymentRolledOut([]runtime.Object{dep})
	assert.True(t, ok)
	dep.Status.Replicas = 3 // an old replica still counted
	ok, _ = deploymentRolledOut([]runtime.Object{dep})
	assert.False(t, ok)
	ok, seen = deploymentRolledOut(nil)
	assert.False(t, ok)
	assert.Equal(t, "deployment not found", seen)
}

// fakeSource lists pods from a slice and hands out scripted watches (watch.FakeWatcher).
type fakeSource struct {
	lists   atomic.Int32
	listFn  func(n int) []runtime.Object
	watches chan *watch.FakeWatcher
}

func (f *fakeSource) source() source {
	return source{
		list: func(context.Context, metav1.ListOptions) ([]runtime.Object, string, error) {
			n := int(f.lists.Add(1))
			return f.listFn(n), "7", nil
		},
		watch: func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if o.ResourceVersion != "7" {
				panic("watch must start at the list's resource version, got " + o.ResourceVersion)
			}
			return <-f.watches, nil
		},
	}
}

func TestWaitForFollowsEventsAndRelists(t *testing.T) {
	f := &fakeSource{watches: make(chan *watch.FakeWatcher, 2)}
	f.listFn = func(n int) []runtime.Object {
		if n == 1 {
			return []runtime.Object{pod("old", corev1.PodRunning, true, false), pod("new", corev1.PodPending, false, false)}
		}
		return []runtime.Object{pod("old", corev1.PodRunning, true, true), pod("new", corev1.PodRunning, false, false)}
	}
	w1, w2 := watch.NewFake(), watch.NewFake()
	f.watches <- w1
	f.watches <- w2
	go func() {
		w1.Modify(pod("old", corev1.PodRunning, true, true)) // being deleted
		w1.Modify(pod("new", corev1.PodRunning, false, false))
		w1.Stop() // the API server closes the watch: waitFor lists again
		w2.Delete(pod("old", corev1.PodRunning, true, true))
		w2.Modify(pod("new", corev1.PodRunning, true, false))
	}()
	err := waitFor(context.Background(), "one ready pod", f.source(), metav1.ListOptions{}, 5*time.Second, exactlyReadyPods(1))
	require.NoError(t, err)
	assert.Equal(t, int32(2), f.lists.Load(), "listed again after the first watch closed")
}

func TestWaitForTimesOutSayingWhatItSaw(t *testing.T) {
	f := &fakeSource{watches: make(chan *watch.FakeWatcher, 1)}
	f.listFn = func(int) []runtime.Object { return []runtime.Object{pod("g", corev1.PodRunning, false, false)} }
	f.watches <- watch.NewFake()
	start := time.Now()
	err := waitFor(context.Background(), "one ready pod", f.source(), metav1.ListOptions{}, 200*time.Millisecond, exactlyReadyPods(1))
	require.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, "one ready pod: not reached within 200ms; last seen: 1 pods: 0 Running and ready, 0 being deleted (want exactly 1, all ready)", err.Error())
}

func TestWaitServing(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "greeter down", http.StatusInternalServerError)
		case 2:
			w.Header().Set("X-Greeting-Source", "fallback")
			_, _ = w.Write([]byte("Hello Sheldon\n"))
		default:
			w.Header().Set("X-Greeting-Source", "greeter")
			_, _ = w.Write([]byte("Hello Sheldon\n"))
		}
	}))
	defer srv.Close()
	require.NoError(t, waitServing(context.Background(), srv.URL+"/", "greeter", 10*time.Second, 0))
	assert.Equal(t, int32(2+5), calls.Load(), "two bad answers, then five good ones in a row")

	calls.Store(0)
	start := time.Now()
	require.NoError(t, waitServing(context.Background(), srv.URL+"/", "greeter", 10*time.Second, 1500*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "good answers for the whole settle time")
	assert.GreaterOrEqual(t, calls.Load(), int32(2+8))

	err := waitServing(context.Background(), srv.URL+"/", "breaker-open", 500*time.Millisecond, 0)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `want 200 with X-Greeting-Source "breaker-open" on every try for 0s within 500ms; last seen: 200, X-Greeting-Source "greeter", body "Hello Sheldon\n"`), err.Error())
}

func TestWaitServingNeedsAStreak(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// every third answer comes from a dead endpoint (an error): never five good in a row
		if calls.Add(1)%3 == 0 {
			http.Error(w, "greeter: dial tcp: connect: connection refused", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Greeting-Source", "greeter")
		_, _ = w.Write([]byte("Hello Sheldon\n"))
	}))
	defer srv.Close()
	err := waitServing(context.Background(), srv.URL+"/", "greeter", 2*time.Second, 0)
	require.Error(t, err)
	assert.GreaterOrEqual(t, calls.Load(), int32(6))
}
