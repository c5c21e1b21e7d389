package chaostest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/process"
)

// exampleT stands in for the *testing.T a real test passes (examples have none): failures are
// printed, progress lines dropped.
type exampleT struct{ name string }

func (exampleT) Helper()                             {}
func (exampleT) Cleanup(func())                      {}
func (e exampleT) Name() string                      { return e.name }
func (exampleT) Output() io.Writer                   { return io.Discard }
func (exampleT) Errorf(format string, args ...any)   { fmt.Printf("FAIL: "+format+"\n", args...) }
func (e exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func ExampleNew() {
	t := exampleT{"TestWorkerSurvivesRestart"} // in a test: func TestWorkerSurvivesRestart(t *testing.T)
	healthy := true
	ct := chaostest.New(t, chaostest.Title("The worker survives a restart"))
	ct.SteadyState("the worker is healthy",
		chaostest.Go("health", func(context.Context, provider.Env) (any, error) { return healthy, nil }).
			Named("worker-healthy").Want(true))
	ct.Action("restart-worker", chaostest.Go("restart", func(context.Context, provider.Env) (any, error) {
		healthy = true // a resilient worker comes back at once
		return "restarted", nil
	}))
	ct.Probe("uptime", process.Command("echo", "up 3 days").Named("uptime"))
	res := ct.Run()
	fmt.Println(res.Outcome)
	fmt.Println(res.Journal.Run[1].Output.(interface{ Value(string) any }).Value("stdout"))
	// Output:
	// held
	// up 3 days
}

func ExampleT_Run() {
	t := exampleT{"TestRollbackAfterPanic"}
	// The test wants the action to fail, and checks that the rollback still ran.
	ct := chaostest.New(t, chaostest.Expect("failed"))
	ct.Action("inject", chaostest.Go("inject", func(context.Context, provider.Env) (any, error) {
		return nil, fmt.Errorf("permission denied")
	}))
	ct.Rollback("heal", process.Command("true"))
	res := ct.Run()
	fmt.Println(res.Outcome)
	fmt.Println(res.Failures[0])
	fmt.Println("rollback:", res.Journal.Rollbacks[0].Status)
	// Output:
	// failed
	// chaostest: action 'inject' failed: permission denied
	// rollback: succeeded
}

func ExampleRunFile() {
	t := exampleT{"TestFromFile"}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "experiment.json")
	_ = os.WriteFile(path, []byte(`{
  "title": "echo keeps echoing",
  "description": "A Chaos Toolkit experiment with process providers.",
  "configuration": {"word": "hello"},
  "steady-state-hypothesis": {"title": "echo answers", "probes": [
    {"type": "probe", "name": "echo", "tolerance": {"type": "regex", "pattern": "^bonjour", "target": "stdout"},
     "provider": {"type": "process", "path": "echo", "arguments": ["${word}"]}}]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}`), 0o644)
	res := chaostest.RunFile(t, path, chaostest.Var("word", "bonjour")) // like chaos run --var word=bonjour
	fmt.Println(res.Outcome, res.Journal.Status)
	fmt.Println(strings.TrimSpace(res.Journal.SteadyStates.After.Probes[0].Output.(interface{ Value(string) any }).Value("stdout").(string)))
	// Output:
	// held completed
	// bonjour
}
