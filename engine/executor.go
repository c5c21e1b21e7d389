package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func (r *runner) startRecord(act *jsonvalue.Object) *journal.Run {
	rec := &journal.Run{}
	r.mu.Lock()
	r.j.Run = append(r.j.Run, rec)
	r.mu.Unlock()
	return rec
}

func isCrash(rec *journal.Run) bool { return rec.Status == "" }

// execute runs an activity whose record is not in the journal yet (a hypothesis probe):
// chaoslib has no record of one an exit signal cuts, so such a cut is recorded as a failure.
func (r *runner) execute(ctx context.Context, act *jsonvalue.Object) *journal.Run {
	rec := &journal.Run{}
	r.executeInto(context.WithValue(ctx, detachedRecordKey{}, true), act, rec)
	return rec
}

// detachedRecordKey marks the context of execute: its record is appended after the run.
type detachedRecordKey struct{}

// cutRecord tells whether the activity under ctx, whose record is already in the journal (the
// method's and the rollbacks', as chaoslib appends them before the provider runs), was cut by an
// exit signal: its record then keeps no status and no exception.
func cutRecord(ctx context.Context) bool {
	return ctx.Err() != nil && signalCause(ctx) != nil && ctx.Value(detachedRecordKey{}) == nil
}

// executeRun runs one activity (chaoslib's execute_activity) and fills rec: pauses, dry modes,
// the provider call under the activity's timeout, the record's times and status.
func (r *runner) executeRun(ctx context.Context, act *jsonvalue.Object, rec *journal.Run) {
	typ, _ := act.Value("type").(string)
	name, _ := act.Value("name").(string)
	rec.Activity = act.Clone()
	dry := r.settings.Dry == DryActivities || (typ == "action" && r.settings.Dry == DryActions) || (typ == "probe" && r.settings.Dry == DryProbes)
	skipPauses := dry || r.settings.Dry == DryPause
	pauses, _ := act.Value("pauses").(*jsonvalue.Object)
	if !skipPauses && pauses != nil {
		if d, ok := r.pauseValue(pauses, "before"); ok && d > 0 {
			r.log(LevelInfo, fmt.Sprintf("Pausing before activity for %ss...", seconds(d)))
			sleepCtx(ctx, d)
		}
	}
	if typ == "action" {
		r.log(LevelInfo, "Action: "+name)
	} else {
		r.log(LevelInfo, "Probe: "+name)
	}
	start := time.Now()
	rec.Start = journal.FormatTime(start)
	var out any
	var err error
	if !dry {
		out, err = r.callProvider(ctx, act)
	}
	end := time.Now()
	rec.End = journal.FormatTime(end)
	rec.Duration = end.Sub(start).Seconds()
	var crash *provider.CrashError
	switch {
	case err == nil:
		rec.Status = journal.RunSucceeded
		rec.Output = normalizeOutput(out)
		r.warnOutput(act, rec.Output)
		r.warnTruncated(act, rec.Output)
	case r.cutByControl(ctx), cutRecord(ctx):
		// no status, no exception, no "=> failed" line: chaoslib appends the record before the
		// provider runs, and the exit signal's exception passes it by
	case errors.As(err, &crash):
		r.noteMiss(rec, err.Error())
		r.log(LevelError, "  => aborted: "+err.Error())
	default:
		rec.Status = journal.RunFailed
		rec.Exception = exceptionLines(err)
		if !cutDuringCheck(ctx) {
			r.log(LevelError, "  => failed: "+err.Error())
		}
	}
	if !skipPauses && pauses != nil {
		if d, ok := r.pauseValue(pauses, "after"); ok && d > 0 {
			r.log(LevelInfo, fmt.Sprintf("Pausing after activity for %ss...", seconds(d)))
			sleepCtx(ctx, d)
		}
	}
}

func (r *runner) warnOutput(act *jsonvalue.Object, out any) {
	o, ok := out.(*jsonvalue.Object)
	if !ok {
		return
	}
	prov, _ := act.Value("provider").(*jsonvalue.Object)
	if act.Has("tolerance") {
		return
	}
	switch prov.Value("type") {
	case "http":
		if st, _ := o.Value("status").(int64); st > 399 {
			r.log(LevelWarning, "This HTTP call returned a response with a HTTP status code above 400. This may indicate some error and not what you expected. Please have a look at the logs.")
		}
	case "process":
		if st, _ := o.Value("status").(int64); st != 0 {
			r.log(LevelWarning, "This process returned a non-zero exit code. This may indicate some error and not what you expected. Please have a look at the logs.")
		}
	}
}

// ExceptionPrefix starts the last line of a failed activity's exception, as in Chaos Toolkit.
const ExceptionPrefix = "chaoslib.exceptions.ActivityFailed: "

func exceptionLines(err error) []string {
	var own interface{ ExceptionLines() []string }
	if errors.As(err, &own) {
		return own.ExceptionLines()
	}
	var p *panicError
	if errors.As(err, &p) {
		lines := []string{"Traceback (most recent call last):\n"}
		for _, l := range strings.Split(strings.TrimSpace(p.stack), "\n") {
			lines = append(lines, l+"\n")
		}
		return append(lines, ExceptionPrefix+err.Error()+"\n")
	}
	return []string{ExceptionPrefix + err.Error() + "\n"}
}

type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func (r *runner) pauseValue(p *jsonvalue.Object, key string) (time.Duration, bool) {
	v, ok := p.Get(key)
	if !ok {
		return 0, false
	}
	v = r.substitute(v)
	switch x := v.(type) {
	case int64:
		return time.Duration(x) * time.Second, true
	case float64:
		return time.Duration(x * float64(time.Second)), true
	}
	r.log(LevelError, fmt.Sprintf("  => the %s pause %s is not a number; not pausing", key, pyRepr(v)))
	return 0, false
}

func seconds(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// callProvider runs an activity's provider under its timeout. Panics become failures; a provider
// that ignores its context is abandoned when the timeout passes.
func (r *runner) callProvider(ctx context.Context, act *jsonvalue.Object) (any, error) {
	name, _ := act.Value("name").(string)
	prov, _ := act.Value("provider").(*jsonvalue.Object)
	var cancel context.CancelFunc
	timeout := time.Duration(0)
	if to, ok := act.Value("timeout").(int64); ok {
		timeout = time.Duration(to) * time.Second
	} else if to, ok := act.Value("timeout").(float64); ok {
		timeout = time.Duration(to * float64(time.Second))
	}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if timeout <= 0 {
		// No timeout of its own: call in this goroutine (providers honour ctx for interruption).
		return r.callSafely(ctx, name, act, prov)
	}
	type result struct {
		out any
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := r.callSafely(ctx, name, act, prov)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if res.err != nil && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("activity took longer than its timeout of %ss: %w", seconds(timeout), res.err)
		}
		return res.out, res.err
	case <-ctx.Done():
		// Give a provider that honours its context a moment to return its own error.
		select {
		case res := <-done:
			if res.err != nil && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("activity took longer than its timeout of %ss: %w", seconds(timeout), res.err)
			}
			return res.out, res.err
		case <-time.After(100 * time.Millisecond):
		}
		if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("activity took longer than its timeout of %ss", seconds(timeout))
		}
		return nil, fmt.Errorf("activity interrupted: %w", context.Cause(ctx))
	}
}

// callSafely calls the provider, turning a panic into an error with its stack, and reporting a
// runtime.Goexit (t.FailNow inside a provider) instead of losing it.
func (r *runner) callSafely(ctx context.Context, name string, act, prov *jsonvalue.Object) (out any, err error) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &panicError{value: p, stack: string(debug.Stack())}
		} else if !returned {
			r.log(LevelError, fmt.Sprintf("  => the provider of '%s' stopped its goroutine (runtime.Goexit; t.FailNow cannot be used inside a provider)", name))
		}
	}()
	out, err = r.dispatch(ctx, name, act, prov)
	returned = true
	return out, err
}

func (r *runner) dispatch(ctx context.Context, name string, act, prov *jsonvalue.Object) (any, error) {
	if a := r.exp.attached[act]; a != nil && a.Run != nil {
		return a.Run(ctx, r.env(name, prov))
	}
	ptype, _ := prov.Value("type").(string)
	switch ptype {
	case "python":
		mod, _ := prov.Value("module").(string)
		fn, _ := prov.Value("func").(string)
		f, ok := provider.LookupFunc(mod + "." + fn)
		if !ok {
			if out, err, handled := r.callPython(ctx, name, mod, fn, prov); handled {
				return out, err
			}
			return nil, fmt.Errorf("no Go provider is registered for %s.%s", mod, fn)
		}
		rawArgs := prov.Value("arguments")
		env := r.env(name, prov)
		if env.HasValues() {
			rawArgs = r.substitute(rawArgs)
		}
		args, err := argumentsMap(rawArgs)
		if err != nil {
			return nil, provider.Crash(err)
		}
		return f.Call(ctx, env, args)
	case "go":
		return nil, provider.Crash(fmt.Errorf("the Go provider %s has no function attached", pyRepr(prov.Value("func"))))
	}
	pt, ok := provider.LookupProviderType(ptype)
	if !ok {
		return nil, provider.Crash(fmt.Errorf("unknown provider type '%s'", ptype))
	}
	return pt.Run(ctx, r.env(name, prov), prov)
}

// normalizeOutput turns a provider's return value into the JSON value conventions of journals
// (ordered objects, int64 integers), so tolerances and journals see the same thing whether a
// provider returned a struct, a map or a jsonvalue.Object.
func normalizeOutput(v any) any {
	switch v.(type) {
	case nil, bool, string, int64, float64, *jsonvalue.Object:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	out, err := jsonvalue.Decode(b)
	if err != nil {
		return string(b)
	}
	return out
}
