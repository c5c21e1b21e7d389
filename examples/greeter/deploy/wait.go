package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// source lists and watches one kind of object in one namespace.
type source struct {
	list  func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error)
	watch func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

func podsSource(cs kubernetes.Interface, ns string) source {
	return source{
		list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
			l, err := cs.CoreV1().Pods(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			out := make([]runtime.Object, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out, l.ResourceVersion, nil
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}
}

func deploymentsSource(cs kubernetes.Interface, ns string) source {
	return source{
		list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
			l, err := cs.AppsV1().Deployments(ns).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			out := make([]runtime.Object, len(l.Items))
			for i := range l.Items {
				out[i] = &l.Items[i]
			}
			return out, l.ResourceVersion, nil
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.AppsV1().Deployments(ns).Watch(ctx, o)
		},
	}
}

// condition judges the current set of objects: whether it holds, and what was seen (for errors).
type condition func(objs []runtime.Object) (bool, string)

// maxRelists bounds how often a wait lists again after its watch ended early (the API server
// closes watches now and then).
const maxRelists = 50

// waitFor lists the objects matching opts, then watches them from that list's resource version,
// until cond holds on the whole set, ctx ends or within passes. No polling: every check follows
// an event. The error says what was last seen.
func waitFor(ctx context.Context, what string, src source, opts metav1.ListOptions, within time.Duration, cond condition) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	last := "nothing listed yet"
	for relist := 0; relist < maxRelists; relist++ {
		objs, rv, err := src.list(ctx, opts)
		if err != nil {
			return waitError(ctx, what, within, last, err)
		}
		set := map[string]runtime.Object{}
		for _, o := range objs {
			set[key(o)] = o
		}
		ok, seen := cond(values(set))
		last = seen
		if ok {
			return nil
		}
		wo := opts
		wo.ResourceVersion = rv
		wo.AllowWatchBookmarks = true
		w, err := src.watch(ctx, wo)
		if err != nil {
			return waitError(ctx, what, within, last, err)
		}
		done, err := func() (bool, error) {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return false, ctx.Err()
				case ev, open := <-w.ResultChan():
					if !open {
						return false, nil // watch ended: list again
					}
					switch ev.Type {
					case watch.Added, watch.Modified:
						set[key(ev.Object)] = ev.Object
					case watch.Deleted:
						delete(set, key(ev.Object))
					case watch.Error:
						return false, nil // e.g. resource version too old: list again
					default:
						continue
					}
					ok, seen := cond(values(set))
					last = seen
					if ok {
						return true, nil
					}
				}
			}
		}()
		if done {
			return nil
		}
		if err != nil {
			return waitError(ctx, what, within, last, err)
		}
	}
	return fmt.Errorf("waiting for %s: the watch ended %d times; last seen: %s", what, maxRelists, last)
}

func waitError(ctx context.Context, what string, within time.Duration, last string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: not reached within %s; last seen: %s", what, within, last)
	}
	return fmt.Errorf("waiting for %s: %w (last seen: %s)", what, err, last)
}

func key(o runtime.Object) string {
	if m, ok := o.(metav1.Object); ok {
		return m.GetNamespace() + "/" + m.GetName()
	}
	return fmt.Sprintf("%p", o)
}

func values(m map[string]runtime.Object) []runtime.Object {
	out := make([]runtime.Object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	return out
}

// deploymentRolledOut holds when the deployment's controller has seen its latest spec and all
// its replicas are updated, ready and available, with no other replica left.
func deploymentRolledOut(objs []runtime.Object) (bool, string) {
	if len(objs) == 0 {
		return false, "deployment not found"
	}
	d, ok := objs[0].(*appsv1.Deployment)
	if !ok {
		return false, fmt.Sprintf("not a deployment: %T", objs[0])
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	done := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want &&
		s.AvailableReplicas == want && s.Replicas == want
	return done, fmt.Sprintf("generation %d observed %d; %d/%d updated, %d ready, %d available, %d total",
		d.Generation, s.ObservedGeneration, s.UpdatedReplicas, want, s.ReadyReplicas, s.AvailableReplicas, s.Replicas)
}

// exactlyReadyPods holds when exactly n pods exist, none being deleted, all Running and Ready:
// after a rollout or a terminated pod's replacement, the old pod is gone, so probes that read
// every pod of a selector (pods_in_phase, read_pod_logs) see one pod.
func exactlyReadyPods(n int) condition {
	return func(objs []runtime.Object) (bool, string) {
		ready, deleting := 0, 0
		for _, o := range objs {
			p := o.(*corev1.Pod)
			switch {
			case p.DeletionTimestamp != nil:
				deleting++
			case p.Status.Phase == corev1.PodRunning && podReady(p):
				ready++
			}
		}
		return ready == n && len(objs) == n, fmt.Sprintf("%d pods: %d Running and ready, %d being deleted (want exactly %d, all ready)", len(objs), ready, deleting, n)
	}
}

// noPods holds when no pod is left.
func noPods(objs []runtime.Object) (bool, string) {
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, o.(*corev1.Pod).Name)
	}
	return len(objs) == 0, fmt.Sprintf("%d pods left %v", len(objs), names)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
