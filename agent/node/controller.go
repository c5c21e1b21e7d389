package node

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/chaostest/chaostest/agent/v1alpha1"
)

// controller is what the NetworkChaos controller (Agent) and the StressChaos controller
// (StressAgent) share: the informers of their kind and of the pods, the work queue fed by their
// events, a tick (every object again, for the time-based checks) and a periodic "gc:" key, and
// the objects' leases, measured on the agent's own clock.
type controller struct {
	name     string // "agent" or "stress agent": the start of its errors and log lines
	gvr      schema.GroupVersionResource
	pods     corev1client.PodsGetter
	dyn      dynamic.Interface
	nodeName string
	tick     time.Duration
	gcEvery  time.Duration
	logf     func(format string, args ...any)

	queue workqueue.TypedRateLimitingInterface[string]
	obji  cache.SharedIndexInformer // the objects of kind gvr
	podi  cache.SharedIndexInformer

	leaseMu sync.Mutex
	leases  map[types.UID]lease
}

// hooks are what a controller's keys do: reconcile an object (by namespace/name), forget a
// deleted one, collect garbage, and, once the queue has shut down, undo everything.
type hooks struct {
	reconcile func(key string) error
	gone      func(uid types.UID, why string)
	gc        func()
	stopAll   func()
}

type lease struct {
	renew string
	seen  time.Time
}

func newController(name string, gvr schema.GroupVersionResource, pods corev1client.PodsGetter, dyn dynamic.Interface, nodeName string, tick, gcEvery time.Duration, logf func(string, ...any)) controller {
	return controller{name: name, gvr: gvr, pods: pods, dyn: dyn, nodeName: nodeName, tick: tick, gcEvery: gcEvery, logf: logf,
		leases: map[types.UID]lease{},
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second))}
}

// informer is a shared informer of one resource over all namespaces, resynced every 10 minutes.
func informer[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), obj runtime.Object) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return list(ctx, o)
		},
		WatchFuncWithContext: watchFn,
	}, obj, 10*time.Minute, cache.Indexers{})
}

// run serves until ctx ends, then calls h.stopAll.
func (c *controller) run(ctx context.Context, h hooks) error {
	objs := c.dyn.Resource(c.gvr).Namespace(metav1.NamespaceAll)
	c.obji = informer(objs.List, objs.Watch, &unstructured.Unstructured{})
	pods := c.pods.Pods(metav1.NamespaceAll)
	c.podi = informer(pods.List, pods.Watch, &corev1.Pod{})
	enqueue := func(obj any) {
		if k, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(k)
		}
	}
	_, _ = c.obji.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n any) { enqueue(n) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, ok := obj.(metav1.Object); ok {
				c.queue.Add("gone:" + string(m.GetUID()))
			}
		},
	})
	go c.obji.Run(ctx.Done())
	go c.podi.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.obji.HasSynced, c.podi.HasSynced) {
		return fmt.Errorf("%s: caches did not sync: %w", c.name, ctx.Err())
	}
	c.logf("%s on node %s: watching %s", c.name, c.nodeName, c.gvr.String())
	h.gc()
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	go c.ticker(ctx)
	for c.next(h) {
	}
	h.stopAll()
	return nil
}

func (c *controller) ticker(ctx context.Context) {
	t := time.NewTicker(c.tick)
	defer t.Stop()
	lastGC := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, k := range c.obji.GetStore().ListKeys() {
			c.queue.Add(k)
		}
		if time.Since(lastGC) >= c.gcEvery {
			c.queue.Add("gc:")
			lastGC = time.Now()
		}
	}
}

func (c *controller) next(h hooks) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	var err error
	switch {
	case strings.HasPrefix(key, "gone:"):
		uid := types.UID(strings.TrimPrefix(key, "gone:"))
		h.gone(uid, "object deleted")
		c.leaseMu.Lock()
		delete(c.leases, uid)
		c.leaseMu.Unlock()
	case key == "gc:":
		h.gc()
	default:
		err = h.reconcile(key)
	}
	if err != nil {
		if !apierrors.IsConflict(err) {
			c.logf("%s: %v", key, err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// load is the cached object of key decoded as a T (a NetworkChaos or a StressChaos); nil when
// there is none or it does not decode (the error then says why).
func load[T any](c *controller, key string) (*unstructured.Unstructured, *T, error) {
	obj, exists, err := c.obji.GetStore().GetByKey(key)
	if err != nil || !exists {
		return nil, nil, err
	}
	u := obj.(*unstructured.Unstructured)
	v, err := decode[T](u)
	return u, v, err
}

func (c *controller) pod(ns, name string) *corev1.Pod {
	obj, ok, _ := c.podi.GetStore().GetByKey(ns + "/" + name)
	if !ok {
		return nil
	}
	return obj.(*corev1.Pod)
}

// inactive says why the fault of the object m, whose spec.duration is duration, must not be in
// effect now ("" when it must): the object is being deleted, its duration (from its creation)
// has passed, or its lease (annotations v1alpha1.LeaseSecondsAnnotation and
// LeaseRenewAnnotation) has lapsed.
func (c *controller) inactive(m *metav1.ObjectMeta, duration *string, now time.Time) string {
	if m.DeletionTimestamp != nil {
		return "object being deleted"
	}
	if duration != nil && *duration != "" {
		if d, err := v1alpha1.ParseDuration(*duration); err == nil && now.After(m.CreationTimestamp.Add(d)) {
			return "duration " + *duration + " ended"
		}
	}
	if s, ok := m.Annotations[v1alpha1.LeaseSecondsAnnotation]; ok {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs <= 0 {
			return fmt.Sprintf("annotation %s %q is not a positive number of seconds", v1alpha1.LeaseSecondsAnnotation, s)
		}
		renew := m.Annotations[v1alpha1.LeaseRenewAnnotation]
		c.leaseMu.Lock()
		l, ok := c.leases[m.UID]
		if !ok || l.renew != renew {
			l = lease{renew: renew, seen: now}
			c.leases[m.UID] = l
		}
		c.leaseMu.Unlock()
		if now.Sub(l.seen) > time.Duration(secs*float64(time.Second)) {
			return fmt.Sprintf("lease of %ss expired (not renewed since %s)", s, l.seen.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// why says why the fault of the object m must not be in effect now ("" when it must): the error
// of its spec's check, or else inactive's reason (which is worked out in both cases, as it
// records the lease).
func (c *controller) why(m *metav1.ObjectMeta, duration *string, checkErr error, now time.Time) string {
	why := c.inactive(m, duration, now)
	if checkErr != nil {
		why = checkErr.Error()
	}
	return why
}

// selectOnce fills the records of an object that has none yet (the first agent to see it
// selects; the others follow its records): none while why says the fault must not be in
// effect, else those choose returns, with the Selected condition saying how it went.
func selectOnce(exp *v1alpha1.ExperimentStatus, conds *[]v1alpha1.ChaosCondition, why string, choose func() ([]*v1alpha1.Record, error)) {
	if why != "" {
		setCondition(conds, v1alpha1.ConditionSelected, "False", why)
		exp.DesiredPhase = v1alpha1.StoppedPhase
		return
	}
	recs, err := choose()
	if err != nil {
		setCondition(conds, v1alpha1.ConditionSelected, "False", err.Error())
		return
	}
	exp.Records = recs
	exp.DesiredPhase = v1alpha1.RunningPhase
	setCondition(conds, v1alpha1.ConditionSelected, "True", "")
}

// summarize sets the desired phase (running unless why says otherwise) and the AllInjected and
// AllRecovered conditions, over the records of the selected pods or containers (selector key
// "."; a StressChaos has no others).
func summarize(exp *v1alpha1.ExperimentStatus, conds *[]v1alpha1.ChaosCondition, why string) {
	if why == "" {
		exp.DesiredPhase = v1alpha1.RunningPhase
	} else {
		exp.DesiredPhase = v1alpha1.StoppedPhase
	}
	all, none := true, true
	for _, r := range exp.Records {
		if r.SelectorKey != "." {
			continue
		}
		if r.Phase == v1alpha1.Injected {
			none = false
		} else {
			all = false
		}
	}
	setCondition(conds, v1alpha1.ConditionAllInjected, boolStr(all), "")
	setCondition(conds, v1alpha1.ConditionAllRecovered, boolStr(none), "")
}

// writeStatus writes st as the status of u, whose decoded status is cur, unless they are equal;
// an object gone meanwhile is no error.
func writeStatus[S any](c *controller, u *unstructured.Unstructured, cur, st *S) error {
	if reflect.DeepEqual(cur, st) {
		return nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(st)
	if err != nil {
		return err
	}
	out := u.DeepCopy()
	out.Object["status"] = m
	_, err = c.dyn.Resource(c.gvr).Namespace(u.GetNamespace()).UpdateStatus(context.Background(), out, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// decode reads u as a T (a NetworkChaos or a StressChaos).
func decode[T any](u *unstructured.Unstructured) (*T, error) {
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		// The converter is strict about types; go through JSON for the tolerant path.
		b, jerr := json.Marshal(u.Object)
		if jerr != nil {
			return nil, err
		}
		if jerr = json.Unmarshal(b, &v); jerr != nil {
			return nil, fmt.Errorf("decoding %s/%s: %w", u.GetNamespace(), u.GetName(), jerr)
		}
	}
	return &v, nil
}

// deepCopy copies a status through JSON.
func deepCopy[S any](s *S) *S {
	var out S
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &out)
	return &out
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func setCondition(cs *[]v1alpha1.ChaosCondition, t v1alpha1.ChaosConditionType, status, reason string) {
	for i := range *cs {
		if (*cs)[i].Type == t {
			(*cs)[i].Status, (*cs)[i].Reason = status, reason
			return
		}
	}
	*cs = append(*cs, v1alpha1.ChaosCondition{Type: t, Status: status, Reason: reason})
}
