package k8s

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

func testPod(name string, phase corev1.PodPhase, ready, deleting bool) *corev1.Pod {
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

func TestExactlyAndNoPodsConditions(t *testing.T) {
	one := PodsRunning("default", "app=g").Exactly(1)
	assert.Equal(t, `exactly 1 pods default "app=g" Running and ready`, one.String())
	ok, seen := one.holds([]runtime.Object{testPod("a", corev1.PodRunning, true, false)})
	assert.True(t, ok, seen)
	ok, seen = one.holds([]runtime.Object{testPod("a", corev1.PodRunning, true, false), testPod("b", corev1.PodRunning, true, true)})
	assert.False(t, ok, "an old pod being deleted is still there")
	assert.Equal(t, "2 pods: 1 Running and ready, 1 being deleted (want exactly 1, all ready)", seen)
	ok, _ = one.holds([]runtime.Object{testPod("a", corev1.PodRunning, false, false)})
	assert.False(t, ok, "not ready")
	ok, _ = one.holds(nil)
	assert.False(t, ok)
	ok, _ = PodsRunning("default", "app=g").holds([]runtime.Object{testPod("a", corev1.PodRunning, true, false), testPod("b", corev1.PodRunning, true, true)})
	assert.True(t, ok, "PodsRunning alone ignores a pod being deleted; Exactly does not")
	assert.Equal(t, DeploymentReady("ns", "d").String(), DeploymentReady("ns", "d").Exactly(3).String(), "Exactly applies to pod conditions only")

	none := NoPods("default", "part-of=x")
	ok, seen = none.holds([]runtime.Object{testPod("a", corev1.PodRunning, true, true)})
	assert.False(t, ok)
	assert.Equal(t, "1 pods left [a]", seen)
	ok, _ = none.holds(nil)
	assert.True(t, ok)
}

// fakeSource lists pods from a function and hands out scripted watches (watch.FakeWatcher).
type fakeSource struct {
	lists   atomic.Int32
	listFn  func(n int) []runtime.Object
	watches chan *watch.FakeWatcher
}

func (f *fakeSource) condition(holds Condition) Condition {
	holds.src = func(*Client) source {
		return source{
			list: func(context.Context, metav1.ListOptions) ([]runtime.Object, string, error) {
				return f.listFn(int(f.lists.Add(1))), "7", nil
			},
			watch: func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
				if o.ResourceVersion != "7" {
					panic("watch must start at the list's resource version, got " + o.ResourceVersion)
				}
				return <-f.watches, nil
			},
		}
	}
	return holds
}

func TestUntilFollowsEventsWatchesAgainAndListsAgainWhenTheVersionIsGone(t *testing.T) {
	f := &fakeSource{watches: make(chan *watch.FakeWatcher, 3)}
	f.listFn = func(n int) []runtime.Object {
		if n == 1 {
			return []runtime.Object{testPod("old", corev1.PodRunning, true, false), testPod("new", corev1.PodPending, false, false)}
		}
		return []runtime.Object{testPod("old", corev1.PodRunning, true, true), testPod("new", corev1.PodRunning, false, false)}
	}
	w1, w2, w3 := watch.NewFake(), watch.NewFake(), watch.NewFake()
	f.watches <- w1
	f.watches <- w2
	f.watches <- w3
	go func() {
		w1.Modify(testPod("old", corev1.PodRunning, true, true)) // being deleted
		w1.Stop()                                                // the API server closes the watch: watch again
		w2.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired})
		w3.Delete(testPod("old", corev1.PodRunning, true, true))
		w3.Modify(testPod("new", corev1.PodRunning, true, false))
	}()
	err := (&Client{}).Until(context.Background(), f.condition(PodsRunning("default", "").Exactly(1)), 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, int32(2), f.lists.Load(), "listed again after the watch said the version is gone, not after it closed")
	assert.Empty(t, f.watches, "watched three times")
}

func TestUntilTimesOutSayingWhatItSaw(t *testing.T) {
	f := &fakeSource{watches: make(chan *watch.FakeWatcher, 1)}
	f.listFn = func(int) []runtime.Object { return []runtime.Object{testPod("g", corev1.PodRunning, false, false)} }
	f.watches <- watch.NewFake()
	start := time.Now()
	err := (&Client{}).Until(context.Background(), f.condition(PodsRunning("default", "app=g").Exactly(1)), 200*time.Millisecond)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, `exactly 1 pods default "app=g" Running and ready: not reached within 200ms; last seen: 1 pods: 0 Running and ready, 0 being deleted (want exactly 1, all ready)`, err.Error())
}
