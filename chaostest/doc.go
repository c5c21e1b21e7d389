// Package chaostest runs chaos-engineering experiments as Go tests, compatible with Chaos
// Toolkit experiment files and journals.
//
// A test declares the steady state of a system (probes with tolerances), disturbs it
// (actions), and Run checks the steady state again, plays the rollbacks and fails the test when
// the system deviated:
//
//	func TestWorkerRestart(t *testing.T) {
//		ct := chaostest.New(t)
//		ct.SteadyState("the service answers", http.Get(url).Named("responds").Want(200))
//		ct.Action("restart-worker", process.Run("systemctl", "restart", "worker"))
//		ct.Rollback("start-worker", process.Run("systemctl", "start", "worker"))
//		ct.Run()
//	}
//
// RunFile runs a Chaos Toolkit experiment file the same way (Var is `chaos run --var`).
//
// Activities come from the provider packages (providers/http, providers/process,
// providers/k8s, providers/chaosmesh), from any Go function (Go), or from a Go function
// registered under a Chaos Toolkit Python name (Python; see package provider). Tolerances are
// values (Activity.Want): a bool, a number, a string, Between, OneOf, Regex, JSONPath, another
// probe, or a func(output T) error checked in Go against a typed output such as http.Result.
//
// Run returns a Result: the outcome ("held", "deviated", "failed", "inconclusive",
// "aborted", "interrupted"), the journal and the failures. A test that expects another outcome
// than "held" says so with Expect. Settings of `chaos run`'s flags (strategies, fail fast, dry
// modes, controls) come in one engine.Settings through WithSettings.
//
// Progress goes to the test's output (t.Output(): shown with -v or on failure), one line per
// phase and activity in `chaos run`'s words. The journal is kept in the test's artifact
// directory with `go test -artifacts` (Go names that directory itself; `-outputdir` must exist)
// and in $CHAOSTEST_JOURNAL_DIR/<test name>/journal.json when that variable is set; the log
// names the files kept. Rollbacks run even when a provider panics, the test's deadline
// approaches (a reserve of 10% of the time left, between 5 s and 30 s) or the test's goroutine
// stops inside Run.
//
// The engine that loads, validates and runs experiments is package engine (the `chaostest` CLI
// uses it directly); the API for provider authors is package provider.
package chaostest
