package chaostest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	nethttp "net/http"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/http"
)

// fakeTB records what a test would report, so verdicts can be asserted.
type fakeTB struct {
	mu       sync.Mutex
	name     string
	logs     []string
	errs     []string
	fatals   []string
	cleanups []func()
	deadline time.Time
	dir      string
	onLog    func(string)
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Log(args ...any) {
	s := fmt.Sprint(args...)
	f.mu.Lock()
	f.logs = append(f.logs, s)
	hook := f.onLog
	f.mu.Unlock()
	if hook != nil {
		hook(s)
	}
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }
func (f *fakeTB) Name() string      { return f.name }
func (f *fakeTB) Deadline() (time.Time, bool) {
	return f.deadline, !f.deadline.IsZero()
}
func (f *fakeTB) ArtifactDir() string { return f.dir }
func (f *fakeTB) Output() io.Writer   { return lineWriter(f.Log) }

// lineWriter calls log once per line written.
type lineWriter func(args ...any)

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		w(l)
	}
	return len(p), nil
}

// run runs body as a test would: in its own goroutine, then the cleanups (also after a panic).
// It returns the panic value, if any.
func (f *fakeTB) run(body func()) (panicked any) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			panicked = recover()
			for i := len(f.cleanups) - 1; i >= 0; i-- {
				f.cleanups[i]()
			}
		}()
		body()
	}()
	<-done
	return panicked
}

func newFake(t *testing.T) *fakeTB {
	return &fakeTB{name: t.Name(), dir: t.TempDir()}
}

// service is a real loopback HTTP server whose status can be changed.
func service(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var status atomic.Int64
	status.Store(200)
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, "hello")
	}))
	t.Cleanup(srv.Close)
	return srv, &status
}

func breakService(status *atomic.Int64, code int64) chaostest.Step {
	return chaostest.Go("break the service", func(context.Context, provider.Env) (any, error) {
		status.Store(code)
		return code, nil
	})
}

func TestTPassesWhenSteadyStateHolds(t *testing.T) {
	srv, status := service(t)
	dir := t.TempDir()
	t.Setenv("CHAOSTEST_JOURNAL_DIR", dir)
	f := newFake(t)
	var j *journal.Journal
	f.run(func() {
		ct := chaostest.New(f, chaostest.Title("Service survives"))
		ct.SteadyState("Service is healthy", http.Get(srv.URL).Timeout(3*time.Second).Named("app-responds").Want(200))
		ct.Action("harmless", breakService(status, 200))
		ct.Rollback("restore", breakService(status, 200))
		j = ct.Run().Journal
	})
	require.Empty(t, f.errs)
	require.Empty(t, f.fatals)
	require.Equal(t, "completed", j.Status)
	require.False(t, j.Deviated)
	require.Len(t, j.Rollbacks, 1)
	for _, p := range []string{filepath.Join(f.dir, "journal.json"), filepath.Join(dir, strings.ReplaceAll(f.name, "/", "_"), "journal.json")} {
		read, err := journal.Read(p)
		require.NoError(t, err, p)
		require.Equal(t, "Service survives", read.Experiment.Value("title"))
	}
	// The log reads like chaos run.
	logs := strings.Join(f.logs, "\n")
	line := regexp.MustCompile(`(?m)^INFO Steady state hypothesis: Service is healthy$`)
	require.Regexp(t, line, logs)
	for _, want := range []string{"INFO Running experiment: Service survives", "INFO Probe: app-responds", "INFO Steady state hypothesis is met!",
		"INFO Action: harmless", "INFO Let's rollback...", "INFO Action: restore", "INFO Experiment ended with status: completed",
		"chaostest: journal written to " + filepath.Join(f.dir, "journal.json")} {
		require.Contains(t, logs, want)
	}
}

func TestTFailsOnDeviationNamingProbeToleranceAndOutput(t *testing.T) {
	srv, status := service(t)
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.SteadyState("Service is healthy", http.Get(srv.URL).Named("app-responds").Want(200))
		ct.Action("break", breakService(status, 500))
		ct.Run()
	})
	require.Len(t, f.errs, 1)
	msg := f.errs[0]
	for _, want := range []string{"deviated", "probe:     app-responds", "tolerance: 200", `"status":500`, `"body":"hello"`, "why:       expected status 200, got status 500"} {
		require.Contains(t, msg, want)
	}
	require.Contains(t, strings.Join(f.logs, "\n"), "Experiment ended with status: deviated")
}

func TestTInconclusiveWhenSteadyStateNotMetBefore(t *testing.T) {
	srv, status := service(t)
	status.Store(503)
	f := newFake(t)
	var j *journal.Journal
	f.run(func() {
		ct := chaostest.New(f)
		ct.SteadyState("Service is healthy", http.Get(srv.URL).Named("app-responds").Want(200))
		ct.Action("break", breakService(status, 500))
		j = ct.Run().Journal
	})
	require.Len(t, f.errs, 1)
	require.Contains(t, f.errs[0], "inconclusive")
	require.Contains(t, f.errs[0], "got status 503")
	// The journal records what Chaos Toolkit would: completed, not deviated, method skipped.
	require.Equal(t, "completed", j.Status)
	require.False(t, j.Deviated)
	require.Empty(t, j.Run)
}

func TestTExpectDeviation(t *testing.T) {
	srv, status := service(t)
	for _, c := range []struct {
		code    int64
		wantErr string
	}{{500, ""}, {200, "expected the steady state to deviate"}} {
		status.Store(200)
		f := newFake(t)
		f.run(func() {
			ct := chaostest.New(f, chaostest.Expect("deviated"))
			ct.SteadyState("Service is healthy", http.Get(srv.URL).Named("app-responds").Want(200))
			ct.Action("break", breakService(status, c.code))
			ct.Run()
		})
		if c.wantErr == "" {
			require.Empty(t, f.errs)
		} else {
			require.Len(t, f.errs, 1)
			require.Contains(t, f.errs[0], c.wantErr)
		}
	}
}

func TestTFailedActionFailsTheTest(t *testing.T) {
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.Action("kill", chaostest.Go("kill", func(context.Context, provider.Env) (any, error) { return nil, errors.New("forbidden") }))
		ct.Run()
	})
	require.Equal(t, []string{"chaostest: action 'kill' failed: forbidden"}, f.errs)
}

func TestTInvalidExperimentIsFatal(t *testing.T) {
	f := newFake(t)
	f.run(func() {
		ct := chaostest.New(f)
		ct.Action("bad", chaostest.Python("chaosnothing.actions.boom", nil))
		ct.Run()
		t.Error("Run returned after a fatal validation error")
	})
	require.Len(t, f.fatals, 1)
	require.Contains(t, f.fatals[0], "could not find Python module 'chaosnothing.actions'")
}

func TestTRollbacksRunBeforeTheTestDeadline(t *testing.T) {
	f := newFake(t)
	f.deadline = time.Now().Add(8 * time.Second) // the run is interrupted 5 s before it (the least reserve)
	var rolledBack atomic.Bool
	var j *journal.Journal
	f.run(func() {
		ct := chaostest.New(f)
		ct.Action("hang", chaostest.Go("hang", func(ctx context.Context, _ provider.Env) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		ct.Rollback("undo", chaostest.Go("undo", func(ctx context.Context, _ provider.Env) (any, error) {
			rolledBack.Store(true)
			return "undone", ctx.Err()
		}))
		j = ct.Run().Journal
	})
	require.True(t, rolledBack.Load(), "the rollback ran")
	require.Equal(t, "interrupted", j.Status)
	require.Equal(t, journal.RunSucceeded, j.Rollbacks[0].Status, "the rollback had time left")
	require.True(t, time.Now().Before(f.deadline), "finished before the deadline")
	require.Contains(t, strings.Join(f.errs, "\n"), "interrupted")
}

func TestTPanickingProviderStillGetsRollbacks(t *testing.T) {
	f := newFake(t)
	var j *journal.Journal
	f.run(func() {
		ct := chaostest.New(f)
		ct.Action("kaboom", chaostest.Go("kaboom", func(context.Context, provider.Env) (any, error) {
			var m map[string]int
			m["x"] = 1
			return nil, nil
		}))
		ct.Rollback("undo", chaostest.Go("undo", func(context.Context, provider.Env) (any, error) { return "ok", nil }))
		j = ct.Run().Journal
	})
	require.Len(t, j.Rollbacks, 1)
	require.Equal(t, journal.RunSucceeded, j.Rollbacks[0].Status)
	require.Contains(t, f.errs[0], "action 'kaboom' failed: panic: assignment to entry in nil map")
}

// When Run itself is cut short in the test's goroutine (here a panic from the test's own log
// hook), the t.Cleanup safety net plays the rollbacks and writes the journal.
func TestTCleanupPlaysRollbacksWhenRunIsCutShort(t *testing.T) {
	f := newFake(t)
	f.onLog = func(s string) {
		if strings.HasSuffix(s, "Action: break") {
			panic("the test blew up")
		}
	}
	var rolledBack atomic.Bool
	p := f.run(func() {
		ct := chaostest.New(f)
		ct.Action("break", chaostest.Go("break", func(context.Context, provider.Env) (any, error) { return nil, nil }))
		ct.Rollback("undo", chaostest.Go("undo", func(context.Context, provider.Env) (any, error) {
			rolledBack.Store(true)
			return nil, nil
		}))
		ct.Run()
	})
	require.Equal(t, "the test blew up", p)
	require.True(t, rolledBack.Load())
	j, err := journal.Read(filepath.Join(f.dir, "journal.json"))
	require.NoError(t, err)
	require.Equal(t, "interrupted", j.Status)
	require.Len(t, j.Rollbacks, 1)
}

func TestTParallel(t *testing.T) {
	srv, _ := service(t)
	for i := range 4 {
		t.Run(fmt.Sprint("exp", i), func(t *testing.T) {
			t.Parallel()
			ct := chaostest.New(t)
			ct.SteadyState("up", http.Get(srv.URL).Named("responds").Want(200))
			ct.Probe("look", http.Get(srv.URL))
			j := ct.Run().Journal
			require.Equal(t, "completed", j.Status)
			// The journal is kept in the artifact directory only with -artifacts: without it, go
			// test deletes that directory, and the log must not name a file that will be gone.
			_, err := os.Stat(filepath.Join(t.ArtifactDir(), "journal.json"))
			if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
				require.NoError(t, err)
			} else {
				require.True(t, os.IsNotExist(err), "no journal in a directory go test deletes: %v", err)
			}
		})
	}
}

func TestRunFileWithAddedPause(t *testing.T) {
	srv, _ := service(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "experiment.json")
	require.NoError(t, os.WriteFile(exp, []byte(`{
  "title": "Pause added by the test", "description": "d",
  "configuration": {"url": {"type": "env", "key": "CHAOSTEST_TEST_URL", "default": "http://127.0.0.1:1/"}},
  "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "up", "tolerance": 200, "provider": {"type": "http", "url": "${url}", "timeout": 3}}]},
  "method": [{"type": "action", "name": "nap", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]
}`), 0o644))
	f := newFake(t)
	var j *journal.Journal
	f.run(func() {
		j = chaostest.RunFile(f, exp, chaostest.Var("url", srv.URL), chaostest.AddPauseAfter("nap", 50*time.Millisecond)).Journal
	})
	require.Empty(t, f.errs)
	require.Equal(t, 0.05, j.Run[0].Activity.Value("pauses").(*jsonvalue.Object).Value("after"))
	require.Contains(t, strings.Join(f.logs, "\n"), "Pausing after activity for 0.05s...")

	f = newFake(t)
	f.run(func() { chaostest.RunFile(f, exp, chaostest.AddPauseAfter("missing", time.Second)) })
	require.Len(t, f.fatals, 1)
	require.Contains(t, f.fatals[0], "the method has no activity of that name")
}
