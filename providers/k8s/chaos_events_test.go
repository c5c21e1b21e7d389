//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/chaostest/chaostest/jsonvalue"
)

// eventItems calls get_events and returns the items of the EventList it outputs, after
// checking the list is the events.k8s.io/v1 one, as chaosk8s returns it.
func eventItems(t *testing.T, args map[string]any) []*jsonvalue.Object {
	t.Helper()
	out, ok := mustCall(t, "chaosk8s.event.probes.get_events", args).(*jsonvalue.Object)
	require.True(t, ok, "get_events outputs the raw EventList object")
	assert.Equal(t, "EventList", out.Value("kind"))
	assert.Equal(t, "events.k8s.io/v1", out.Value("apiVersion"))
	raw, _ := out.Value("items").([]any)
	items := make([]*jsonvalue.Object, len(raw))
	for i, it := range raw {
		items[i] = it.(*jsonvalue.Object)
	}
	return items
}

func field(o *jsonvalue.Object, path ...string) any {
	var v any = o
	for _, k := range path {
		m, ok := v.(*jsonvalue.Object)
		if !ok {
			return nil
		}
		v = m.Value(k)
	}
	return v
}

// TestEventsRegardingFieldSelector is the chaosk8s experiment that failed with "(400) Reason:
// BadRequest": a pod is scheduled, and get_events with
// "regarding.namespace=NS,reason=Scheduled" (then regarding.name) finds its Scheduled event,
// in the events.k8s.io/v1 shape (regarding, note, reportingController).
func TestEventsRegardingFieldSelector(t *testing.T) {
	ns := namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sched", Labels: map[string]string{"app": "sched"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64),
			Containers:                    []corev1.Container{{Name: "main", Image: podImage, ImagePullPolicy: corev1.PullNever, Command: []string{"/podserver"}}},
		},
	}
	_, err := kube.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)

	// Wait (list + watch, no polling) for the scheduler's event about the pod.
	scheduled := fmt.Sprintf("regarding.namespace=%s,reason=Scheduled", ns)
	ok, err := waitUntil(ctx, source{
		list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
			l, err := kube.cs.EventsV1().Events("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return objects(l.Items), l.ResourceVersion, nil
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return kube.cs.EventsV1().Events("").Watch(ctx, o)
		},
	}, metav1.ListOptions{FieldSelector: scheduled}, func(objs []runtime.Object) bool { return len(objs) > 0 })
	require.NoError(t, err)
	require.True(t, ok, "no Scheduled event for pod %s/sched within 2 minutes", ns)

	for _, sel := range []string{scheduled, "regarding.name=sched,regarding.namespace=" + ns, "regarding.kind=Pod,regarding.name=sched,type=Normal,metadata.namespace=" + ns} {
		items := eventItems(t, map[string]any{"field_selector": sel})
		require.NotEmpty(t, items, sel)
		found := false
		for _, ev := range items {
			assert.Equal(t, ns, field(ev, "regarding", "namespace"), sel)
			if field(ev, "reason") == "Scheduled" && field(ev, "regarding", "name") == "sched" {
				found = true
				assert.Equal(t, "Pod", field(ev, "regarding", "kind"))
				assert.Contains(t, field(ev, "note"), ns+"/sched", "events.k8s.io/v1 calls the message note")
				assert.Equal(t, "default-scheduler", field(ev, "reportingController"))
			}
		}
		assert.True(t, found, "Scheduled event of %s/sched with field_selector %q", ns, sel)
	}
	assert.Empty(t, eventItems(t, map[string]any{"field_selector": "regarding.name=no-such-pod,regarding.namespace=" + ns}))

	// The core/v1 field names are not those of events.k8s.io/v1: the API refuses them, as it
	// does for chaosk8s.
	_, err = kcall(t, "chaosk8s.event.probes.get_events", map[string]any{"field_selector": "involvedObject.namespace=" + ns})
	assert.EqualError(t, err, "listing events: (400) Reason: BadRequest: field label not supported: involvedObject.namespace",
		"the server's message, not client-go's \"unknown reason\"")
}

// TestEventsLabelSelectorAndLimit checks get_events's label_selector and limit on events this
// test records itself (the cluster's own events carry no labels).
func TestEventsLabelSelectorAndLimit(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	mark := "run-" + ns
	for i := 0; i < 3; i++ {
		kind := "one"
		if i == 2 {
			kind = "two"
		}
		_, err := kube.cs.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("ct-%d", i), Labels: map[string]string{"chaostest-events": mark, "kind": kind}},
			EventTime:           metav1.NewMicroTime(time.Now()),
			ReportingController: "chaostest.dev/events-test",
			ReportingInstance:   "events-test",
			Action:              "Testing",
			Reason:              "ChaostestProbe",
			Type:                corev1.EventTypeNormal,
			Note:                fmt.Sprintf("event %d", i),
			Regarding:           corev1.ObjectReference{Kind: "ConfigMap", Namespace: ns, Name: "marker", APIVersion: "v1"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	sel := "chaostest-events=" + mark
	notes := func(items []*jsonvalue.Object) []any {
		var out []any
		for _, it := range items {
			out = append(out, field(it, "note"))
		}
		return out
	}
	assert.ElementsMatch(t, []any{"event 0", "event 1", "event 2"}, notes(eventItems(t, map[string]any{"label_selector": sel})))
	assert.ElementsMatch(t, []any{"event 2"}, notes(eventItems(t, map[string]any{"label_selector": sel + ",kind=two"})))
	assert.ElementsMatch(t, []any{"event 0", "event 1"}, notes(eventItems(t, map[string]any{"label_selector": sel, "field_selector": "reason=ChaostestProbe,metadata.namespace=" + ns, "limit": 2})),
		"limit 2 returns the first two, in the API's (name) order")
	out := mustCall(t, "chaosk8s.event.probes.get_events", map[string]any{"label_selector": sel, "limit": 2}).(*jsonvalue.Object)
	assert.NotEmpty(t, field(out, "metadata", "continue"), "a cut list carries its continue token, as the raw API JSON does")
	assert.Len(t, eventItems(t, map[string]any{"label_selector": sel, "limit": 1}), 1)
	assert.Empty(t, eventItems(t, map[string]any{"label_selector": "chaostest-events=nobody"}))
}

// TestRawListErrorsKeepTheServerMessage: the probes that return raw API JSON (get_events,
// get_nodes) report the API server's own message when it refuses the request.
func TestRawListErrorsKeepTheServerMessage(t *testing.T) {
	_, err := kcall(t, "chaosk8s.node.probes.get_nodes", map[string]any{"label_selector": "a in ("})
	assert.EqualError(t, err, "listing nodes: (400) Reason: BadRequest: unable to parse requirement: found '', expected: ',', ')' or identifier")
	_, err = kcall(t, "chaosk8s.event.probes.get_events", map[string]any{"field_selector": "reason"})
	assert.ErrorContains(t, err, "listing events: (400) Reason: BadRequest: ")
	assert.NotContains(t, err.Error(), "unknown reason")
}
