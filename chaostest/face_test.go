package chaostest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/http"
	"github.com/chaostest/chaostest/providers/process"
)

func noop(context.Context, provider.Env) (any, error) { return nil, nil }

func TestTRunNeverCalledFailsTheTest(t *testing.T) {
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.Action("forgotten", chaostest.Go("noop", noop))
	})
	require.Len(t, f.errs, 1)
	assert.Contains(t, f.errs[0], "declared an experiment with chaostest.New but never called Run")
}

func TestTMethodProbeToleranceWarnsOnce(t *testing.T) {
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.Probe("one", chaostest.Go("one", noop).Want(true))
		ct.Probe("two", chaostest.Go("two", noop).Want(true))
		ct.Run()
	})
	require.Empty(t, f.errs)
	warned := 0
	for _, l := range f.logs {
		if strings.Contains(l, "tolerance of method probe") {
			warned++
			assert.Contains(t, l, "'one'")
		}
	}
	assert.Equal(t, 1, warned, "one warning per experiment")
}

// TestExpectFailedRollbackAfterPanic: a test of "the rollback ran after a panicking action"
// needs no hand-written TB: Expect("failed") and the Result.
func TestExpectFailedRollbackAfterPanic(t *testing.T) {
	ct := chaostest.New(t, chaostest.Expect("failed"))
	ct.Action("kaboom", chaostest.Go("kaboom", func(context.Context, provider.Env) (any, error) {
		panic("the fault injector broke")
	}))
	ct.Rollback("undo", chaostest.Go("undo", func(context.Context, provider.Env) (any, error) { return "undone", nil }))
	res := ct.Run()
	assert.Equal(t, "failed", res.Outcome)
	require.Len(t, res.Journal.Rollbacks, 1)
	assert.Equal(t, journal.RunSucceeded, res.Journal.Rollbacks[0].Status)
	require.Len(t, res.Failures, 1)
	_, file, line, _ := runtime.Caller(0)
	assert.Contains(t, res.Failures[0], "action 'kaboom' failed: panic: the fault injector broke (at "+filepath.Base(file)+":")
	assert.NotContains(t, res.Failures[0], fmt.Sprintf(":%d)", line), "the frame is the panic's, not this line")
}

func TestExpectOutcomes(t *testing.T) {
	srv, status := service(t)
	cases := []struct {
		expect, outcome string
		status          int64
		breakTo         int64
		errs            []string
	}{
		{"inconclusive", "inconclusive", 503, 503, nil},
		{"deviated", "deviated", 200, 500, nil},
		{"deviated", "held", 200, 200, []string{"expected the steady state to deviate"}},
		{"held", "deviated", 200, 500, []string{"the steady state deviated after the method"}},
		{"failed", "held", 200, 200, []string{`expected the outcome "failed" (Expect), got "held"`}},
	}
	for _, c := range cases {
		status.Store(c.status)
		f := newFake(t)
		var res *chaostest.Result
		f.run(func() {
			ct := chaostest.New(f, chaostest.Expect(c.expect))
			ct.SteadyState("up", http.Get(srv.URL).Named("responds").Want(200))
			ct.Action("break", breakService(status, c.breakTo))
			res = ct.Run()
		})
		assert.Equal(t, c.outcome, res.Outcome, "%+v", c)
		require.Len(t, f.errs, len(c.errs), "%+v: %q", c, f.errs)
		for i, e := range c.errs {
			assert.Contains(t, f.errs[i], e)
		}
	}
	assert.PanicsWithValue(t, `chaostest.Expect("broken"): want one of held, deviated, failed, inconclusive, aborted, interrupted`, func() { chaostest.Expect("broken") })
}

func TestTypedTolerances(t *testing.T) {
	srv, _ := service(t)
	ct := chaostest.New(t)
	ct.SteadyState("typed",
		http.Get(srv.URL).Named("http-typed").Want(func(r http.Result) error {
			if r.Status != 200 || r.BodyText() != "hello" {
				return fmt.Errorf("status %d, body %q", r.Status, r.BodyText())
			}
			return nil
		}),
		process.Command("sh", "-c", "echo out; echo err >&2; exit 3").Named("process-typed").Want(func(r process.Result) error {
			if r.Status != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
				return fmt.Errorf("got %+v", r)
			}
			return nil
		}),
		chaostest.Go("seven", func(context.Context, provider.Env) (any, error) { return 7, nil }).Named("int-typed").Want(func(n int) error {
			if n != 7 {
				return fmt.Errorf("want 7, got %d", n)
			}
			return nil
		}),
		http.Get(srv.URL).Named("one-of").Want(chaostest.OneOf(201, 200)),
		http.Get(srv.URL).Named("between").Want(chaostest.Between(200, 299).Target("status")),
		process.Command("echo", `{"items": [1, 2, 3]}`).Named("jsonpath").Want(chaostest.JSONPath("$.items[*]").Target("stdout").Count(3)),
		process.Command("echo", "ready").Named("regex").Want(chaostest.Regex("^ready$").Target("stdout")),
	)
	ct.Action("nothing", chaostest.Go("nothing", noop))
	res := ct.Run()
	assert.Equal(t, "held", res.Outcome)
	assert.Empty(t, res.Failures)
}

func TestTypedToleranceMissExplains(t *testing.T) {
	srv, status := service(t)
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.SteadyState("up", http.Get(srv.URL).Named("responds").Want(chaostest.OneOf(200, 201)))
		ct.Action("break", breakService(status, 500))
		ct.Run()
	})
	require.Len(t, f.errs, 1)
	assert.Contains(t, f.errs[0], "why:       expected status one of [200, 201], got status 500")
	assert.Contains(t, f.errs[0], `tolerance: {"type":"go","func":"chaostest.OneOf","values":[200,201]}`)
}

func TestWantPanicsAtTheDeclaringLine(t *testing.T) {
	for _, c := range []struct {
		tol  any
		want string
	}{
		{func(any) bool { return true }, "Want(func(interface {}) bool): a Go tolerance is a func(output T) error, not func(interface {}) bool"},
		{[]int{200, 201}, "Want([]int{200, 201}): a list of two values is a range in Chaos Toolkit"},
		{struct{ X int }{1}, "Want(struct { X int }{X:1}): want a bool, a number"},
		{func(chan int) error { return nil }, "the output cannot be decoded into chan int"},
	} {
		var got string
		func() {
			defer func() { got = fmt.Sprint(recover()) }()
			chaostest.Go("x", noop).Want(c.tol)
		}()
		_, file, _, _ := runtime.Caller(0)
		assert.Contains(t, got, "chaostest: "+filepath.Base(file)+":", "names the declaring line")
		assert.Contains(t, got, c.want)
	}
	// Lists of other lengths keep Chaos Toolkit's membership rule.
	a := chaostest.Go("x", noop).Want([]int{200, 201, 202})
	assert.Equal(t, []any{int64(200), int64(201), int64(202)}, a.Object().Value("tolerance"))
}

// TestGoProbeAsTolerance: an unnamed Go probe is a usable tolerance (it is named after the
// probe it judges and runs in Go).
func TestGoProbeAsTolerance(t *testing.T) {
	for _, c := range []struct {
		ret     any
		outcome string
	}{{true, "held"}, {false, "inconclusive"}} {
		f := newFake(t)
		var res *chaostest.Result
		f.run(func() {
			ct := chaostest.New(f, chaostest.Expect(c.outcome))
			ct.SteadyState("up", chaostest.Go("value", func(context.Context, provider.Env) (any, error) { return 1, nil }).Named("p").
				Want(chaostest.Go("judge", func(context.Context, provider.Env) (any, error) { return c.ret, nil })))
			ct.Action("nothing", chaostest.Go("nothing", noop))
			res = ct.Run()
		})
		require.Empty(t, f.errs, "%v", c)
		require.Empty(t, f.fatals, "%v", c)
		assert.Equal(t, c.outcome, res.Outcome)
		tol := res.Journal.SteadyStates.Before.Probes[0].Activity.Value("tolerance").(*jsonvalue.Object)
		assert.Equal(t, "p-tolerance", tol.Value("name"))
	}
}

func TestWithSettingsAndSafeguards(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	ct := chaostest.New(t, chaostest.Expect("interrupted"),
		chaostest.WithSettings(engine.Settings{JournalDuring: engine.JournalDuringFull, RollbackStrategy: engine.RollbackAlways}),
		chaostest.WithControls(chaostest.Safeguards("guard", 20*time.Millisecond,
			chaostest.Go("is up", func(context.Context, provider.Env) (any, error) { return up.Load(), nil }).Named("up").Want(true))))
	ct.Action("break", chaostest.Go("break", func(ctx context.Context, _ provider.Env) (any, error) {
		up.Store(false)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, errors.New("the safeguard did not stop the run")
		}
	}))
	ct.Rollback("restore", chaostest.Go("restore", func(context.Context, provider.Env) (any, error) { up.Store(true); return nil, nil }))
	res := ct.Run()
	assert.Equal(t, "interrupted", res.Outcome)
	require.Len(t, res.Journal.Rollbacks, 1, "RollbackStrategy always from WithSettings")
	assert.Equal(t, journal.RunSucceeded, res.Journal.Rollbacks[0].Status)
}

func TestJournalKeptInJournalDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CHAOSTEST_JOURNAL_DIR", dir)
	f := newFake(t)
	f.name = "TestX/sub case"
	f.run(func() {
		ct := chaostest.New(f, chaostest.Title("kept"))
		ct.Action("nothing", chaostest.Go("nothing", noop))
		ct.Run()
	})
	p := filepath.Join(dir, "TestX_sub_case", "journal.json")
	j, err := journal.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "kept", j.Experiment.Value("title"))
	assert.Contains(t, f.logs, "chaostest: journal written to "+p)
	_, err = os.Stat(filepath.Join(f.dir, "journal.json"))
	require.NoError(t, err, "a TB of its own with ArtifactDir is trusted to keep it")
}

// TestActivityBuilders: what provider packages build activities with (NewActivity, RunFunc),
// and the activity keys Chaos Toolkit files hold (pauses, background, timeout).
func TestActivityBuilders(t *testing.T) {
	// The registered function says what the call is (its arguments are checked at validation);
	// RunFunc binds this call to a client of the test's own.
	provider.Register("chaostesttest.probes.count", "Count calls.", func(context.Context, provider.Env, struct{}) (any, error) {
		return nil, errors.New("the bound function should run instead")
	})
	var calls atomic.Int32
	bound := chaostest.NewActivity(jsonvalue.NewObject("type", "python", "module", "chaostesttest.probes", "func", "count")).
		RunFunc(func(context.Context, provider.Env) (any, error) { return calls.Add(1), nil })
	bg := chaostest.Go("background", func(ctx context.Context, _ provider.Env) (any, error) {
		time.Sleep(50 * time.Millisecond)
		return "done", nil
	}).InBackground().PauseAfter(10 * time.Millisecond).Timeout(5 * time.Second)
	assert.Same(t, bg, bg.Activity())
	assert.Equal(t, jsonvalue.NewObject("after", int64(0)).Keys(), bg.Object().Value("pauses").(*jsonvalue.Object).Keys())
	assert.Equal(t, true, bg.Object().Value("background"))
	assert.Equal(t, 5.0, bg.Object().Value("timeout"))

	ct := chaostest.New(t)
	ct.Action("bg", bg)
	ct.Probe("count", bound)
	res := ct.Run()
	require.Equal(t, "held", res.Outcome)
	assert.Equal(t, int32(1), calls.Load(), "RunFunc replaced the registry dispatch")
	byName := map[string]*journal.Run{}
	for _, r := range res.Journal.Run {
		byName[r.Name()] = r
	}
	assert.Equal(t, "done", byName["bg"].Output)
	assert.Equal(t, int64(1), byName["count"].Output)
	assert.Equal(t, "chaostesttest.probes", byName["count"].Activity.Value("provider").(*jsonvalue.Object).Value("module"), "the journal shows the provider object")
}
