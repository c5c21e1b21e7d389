package k8s

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Condition is a state of the cluster that Until, WaitFor and RecoveryTime watch for (with a
// list and a watch, never by polling).
type Condition struct {
	desc  string
	ns    string
	pods  bool
	src   func(c *Client) source
	opts  metav1.ListOptions
	holds func(objs []runtime.Object) (bool, string)
}

// String describes the condition ("deployment default/web fully available").
func (cd Condition) String() string { return cd.desc }

// DeploymentReady holds when the deployment exists, its controller has seen its latest spec,
// and all its replicas are updated, ready and available. An empty ns means the namespace of
// the client that waits, when it comes from [Client.TestNamespace].
func DeploymentReady(ns, name string) Condition {
	return Condition{
		desc: fmt.Sprintf("deployment %s/%s fully available", ns, name),
		src:  func(c *Client) source { return deploymentsSource(c, c.scope(ns)) },
		opts: metav1.ListOptions{FieldSelector: "metadata.name=" + name},
		holds: func(objs []runtime.Object) (bool, string) {
			if len(objs) == 0 {
				return false, "deployment not found"
			}
			d := objs[0].(*appsv1.Deployment)
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			s := d.Status
			ok := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want &&
				s.AvailableReplicas == want && s.Replicas == want
			return ok, fmt.Sprintf("%d/%d ready, %d available, %d updated, %d total", s.ReadyReplicas, want, s.AvailableReplicas, s.UpdatedReplicas, s.Replicas)
		},
	}
}

// PodsRunning holds when at least one pod matches selector in ns and every matching pod that
// is not being deleted is Running with all its containers ready. AtLeast raises the minimum.
// An empty ns means the namespace of the client that waits, when it comes from
// [Client.TestNamespace] (otherwise every namespace).
func PodsRunning(ns, selector string) Condition {
	return podsRunning(ns, selector, 1)
}

// AtLeast makes a PodsRunning condition require at least n such pods.
func (cd Condition) AtLeast(n int) Condition {
	if cd.pods {
		return podsRunning(cd.ns, cd.opts.LabelSelector, n)
	}
	return cd
}

// Exactly makes a PodsRunning condition hold only when exactly n pods match, none of them
// being deleted, all Running and ready: after a rollout or the replacement of a terminated
// pod, the old pod is gone too, so probes that read every pod of the selector see n.
func (cd Condition) Exactly(n int) Condition {
	if !cd.pods {
		return cd
	}
	ns, selector := cd.ns, cd.opts.LabelSelector
	return Condition{
		desc: fmt.Sprintf("exactly %d pods %s %q Running and ready", n, ns, selector),
		ns:   ns,
		pods: true,
		src:  func(c *Client) source { return podsSource(c, c.scope(ns)) },
		opts: metav1.ListOptions{LabelSelector: selector},
		holds: func(objs []runtime.Object) (bool, string) {
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
		},
	}
}

// NoPods holds when no pod matching selector is left in ns, not even one being deleted. An
// empty ns means the namespace of a [Client.TestNamespace] client (otherwise every namespace).
func NoPods(ns, selector string) Condition {
	return Condition{
		desc: fmt.Sprintf("no pod %s %q left", ns, selector),
		ns:   ns,
		src:  func(c *Client) source { return podsSource(c, c.scope(ns)) },
		opts: metav1.ListOptions{LabelSelector: selector},
		holds: func(objs []runtime.Object) (bool, string) {
			names := make([]string, 0, len(objs))
			for _, o := range objs {
				names = append(names, o.(*corev1.Pod).Name)
			}
			return len(objs) == 0, fmt.Sprintf("%d pods left %v", len(objs), names)
		},
	}
}

func podsRunning(ns, selector string, n int) Condition {
	return Condition{
		desc: fmt.Sprintf("pods %s %q Running and ready (at least %d)", ns, selector, n),
		ns:   ns,
		pods: true,
		src:  func(c *Client) source { return podsSource(c, c.scope(ns)) },
		opts: metav1.ListOptions{LabelSelector: selector},
		holds: func(objs []runtime.Object) (bool, string) {
			running, live := 0, 0
			var notReady []string
			for _, o := range objs {
				p := o.(*corev1.Pod)
				if p.DeletionTimestamp != nil {
					continue
				}
				live++
				if p.Status.Phase == corev1.PodRunning && podReady(p) {
					running++
				} else {
					notReady = append(notReady, fmt.Sprintf("%s %s", p.Name, p.Status.Phase))
				}
			}
			seen := fmt.Sprintf("%d of %d pods Running and ready", running, live)
			if len(notReady) > 0 {
				seen += " (" + strings.Join(notReady, ", ") + ")"
			}
			return running >= n && running == live, seen
		},
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Until blocks until cond holds, for at most within. The error says what was last seen.
func (c *Client) Until(ctx context.Context, cond Condition, within time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	last := "nothing listed yet"
	ok, err := waitUntil(wctx, cond.src(c), cond.opts, func(objs []runtime.Object) bool {
		var holds bool
		holds, last = cond.holds(objs)
		return holds
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", cond, err)
	}
	if !ok {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w (last seen: %s)", cond, ctx.Err(), last)
		}
		return fmt.Errorf("%s: not reached within %s; last seen: %s", cond, within, last)
	}
	return nil
}

// WaitFor returns a probe that waits for cond (at most within) and outputs true; it fails,
// saying what it last saw, when cond does not hold in time. It serves as a probe ("deployment
// available again within 60 s") and as a tolerance (a Step tolerance must return true).
func (c *Client) WaitFor(cond Condition, within time.Duration) *chaostest.Activity {
	return chaostest.Go(fmt.Sprintf("k8s: wait for %s within %s", cond, within), func(ctx context.Context, env provider.Env) (any, error) {
		if err := c.Until(ctx, cond, within); err != nil {
			return nil, err
		}
		return true, nil
	})
}

// RecoveryTime returns a probe that waits for cond (at most within) and outputs how long the
// system took to recover, measured from the end of the last action run through this client
// (Client.Call and the constructors built on it), or from the probe's start when none has run.
// Each client keeps its own: experiments running in parallel with their own clients do not
// see each other's actions.
//
//	{"condition": "...", "since": "2026-...Z", "recovered": true, "seconds": 3.42}
//
// The output lands in the journal, so the recovery time is recorded with the run. It fails
// when cond does not hold within the limit.
func (c *Client) RecoveryTime(cond Condition, within time.Duration) *chaostest.Activity {
	return chaostest.Go(fmt.Sprintf("k8s: recovery time of %s (at most %s)", cond, within), func(ctx context.Context, env provider.Env) (any, error) {
		start := time.Now()
		since, from := c.LastActionEnd(), "the last action"
		if since.IsZero() {
			since, from = start, "the probe's start (no action ran through this client)"
		}
		if err := c.Until(ctx, cond, within); err != nil {
			return nil, err
		}
		secs := time.Since(since).Seconds()
		logf(env, "%s reached %.3fs after %s", cond, secs, from)
		return jsonvalue.NewObject("condition", cond.String(), "since", journal.FormatTime(since), "recovered", true,
			"seconds", float64(time.Duration(secs*1e6)*time.Microsecond)/float64(time.Second)), nil
	})
}
