package engine

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// goAct is a minimal activity declared in Go for the engine's own tests (package chaostest has
// the real builders, and cannot be imported here).
type goAct struct {
	obj   *jsonvalue.Object
	run   func(ctx context.Context, env provider.Env) (any, error)
	check func(output any) error
}

func Go(desc string, fn func(ctx context.Context, env provider.Env) (any, error)) *goAct {
	return &goAct{obj: jsonvalue.NewObject("type", "probe", "name", "", "provider", jsonvalue.NewObject("type", "go", "func", desc)), run: fn}
}

func (a *goAct) Named(name string) *goAct { a.obj.Set("name", name); return a }

func (a *goAct) Object() *jsonvalue.Object { return a.obj }

func (a *goAct) Every(d time.Duration) *goAct {
	a.obj.Set("frequency", gojson.Duration(d))
	return a
}

func (a *goAct) Want(tol any) *goAct {
	if fn, ok := tol.(func(any) error); ok {
		a.obj.Set("tolerance", jsonvalue.NewObject("type", "go", "func", runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()))
		a.check = fn
		return a
	}
	a.obj.Set("tolerance", gojson.Value(tol))
	return a
}

func (a *goAct) probe() GoProbe {
	return GoProbe{Object: a.obj, Code: Code{Run: a.run, Check: a.check}}
}

// attach binds a's Go parts to its object in e.
func (e *Experiment) attach(a *goAct) { e.Attach(a.obj, Code{Run: a.run, Check: a.check}) }

// failure returns a failed record's message without the Chaos Toolkit exception prefix.
func failure(rec *journal.Run) string {
	return strings.TrimPrefix(rec.ExceptionMessage(), strings.TrimSpace(ExceptionPrefix)+" ")
}
