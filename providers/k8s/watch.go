package k8s

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// source lists and watches one kind of object.
type source struct {
	list  func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error)
	watch func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// typedAPI is the List and Watch of a typed client-go client (L: its list type).
type typedAPI[L any] interface {
	List(ctx context.Context, o metav1.ListOptions) (L, error)
	Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// sourceFor is the source of a typed client; items gives a list's objects.
func sourceFor[L metav1.ListInterface](api typedAPI[L], items func(L) []runtime.Object) source {
	return source{
		list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
			l, err := api.List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return items(l), l.GetResourceVersion(), nil
		},
		watch: api.Watch,
	}
}

// waitUntil keeps an up-to-date view of the objects opts selects (one list, then watch events,
// re-listing when the watch expires) and returns true as soon as cond holds for that view, or
// false when ctx ends first. No polling, no sleeps.
func waitUntil(ctx context.Context, s source, opts metav1.ListOptions, cond func(objs []runtime.Object) bool) (bool, error) {
	objs := map[string]runtime.Object{}
	view := func() []runtime.Object {
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]runtime.Object, len(keys))
		for i, k := range keys {
			out[i] = objs[k]
		}
		return out
	}
	relist := func() (string, error) {
		items, rv, err := s.list(ctx, opts)
		if err != nil {
			return "", err
		}
		clear(objs)
		for _, o := range items {
			objs[objKey(o)] = o
		}
		return rv, nil
	}
	rv, err := relist()
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	if cond(view()) {
		return true, nil
	}
	for attempt := 0; attempt < 10000; attempt++ {
		if ctx.Err() != nil {
			return false, nil
		}
		o := opts
		o.ResourceVersion = rv
		o.AllowWatchBookmarks = true
		w, err := s.watch(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				if rv, err = relist(); err != nil {
					return false, err
				}
				if cond(view()) {
					return true, nil
				}
				continue
			}
			return false, err
		}
		done, gone, err := drain(ctx, w, objs, &rv, func() bool { return cond(view()) })
		w.Stop()
		if done || err != nil {
			return done, err
		}
		if gone {
			if rv, err = relist(); err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				return false, err
			}
			if cond(view()) {
				return true, nil
			}
		}
	}
	return false, errors.New("watch restarted too often")
}

// drain applies a watch's events to objs until cond holds (done), the watch ends, or it reports
// that the resource version is gone (gone: the caller re-lists).
func drain(ctx context.Context, w watch.Interface, objs map[string]runtime.Object, rv *string, cond func() bool) (done, gone bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				objs[objKey(ev.Object)] = ev.Object
			case watch.Deleted:
				delete(objs, objKey(ev.Object))
			case watch.Bookmark:
			case watch.Error:
				return false, true, nil
			}
			if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
				*rv = m.GetResourceVersion()
			}
			if ev.Type != watch.Bookmark && cond() {
				return true, false, nil
			}
		}
	}
}

func objKey(o runtime.Object) string {
	m, err := meta.Accessor(o)
	if err != nil {
		return fmt.Sprintf("%p", o)
	}
	return m.GetNamespace() + "/" + m.GetName()
}

// withTimeout bounds ctx by seconds (none when seconds <= 0).
func withTimeout(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}
