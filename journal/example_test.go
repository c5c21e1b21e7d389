package journal_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/chaostest/chaostest/journal"
)

// A test writes journal.json and report.html side by side in its artifact directory.
func ExampleRenderHTML() {
	j, err := journal.Read(filepath.Join("..", "testdata", "journals", "continuous-deviated.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "artifacts")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := journal.Write(filepath.Join(dir, "journal.json"), j); err != nil {
		fmt.Println(err)
		return
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	if err := journal.RenderHTML(f, j); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(journal.VerdictOf(j).Name)
	// Output: deviated
}

func ExampleRenderMarkdown() {
	j, err := journal.Read(filepath.Join("..", "testdata", "journals", "ctk-old-aborted.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := journal.RenderMarkdown(os.Stdout, j); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ## ⛔ aborted — Old journal: aborted by a bad URL
	//
	// The run was aborted by an error outside an activity (during "call-bad-url").
	//
	// | status | deviated | start | duration | chaoslib |
	// |---|---|---|---|---|
	// | aborted | false | 2026-11-20 14:03:07 UTC | 60 ms | 1.19.0 |
	//
	// ### Steady state
	//
	// | probe | before | after |
	// |---|---|---|
	// | file-must-exist | ✅ met (1 ms) | — |
	//
	// Before the method: met. After the method: not run.
	//
	// ### Method
	//
	// | # | activity | type | status | duration |
	// |---|---|---|---|---|
	// | 1 | call-bad-url | action | ⛔ stopped midway | 10 ms |
	//
	// ### Rollbacks
	//
	// | # | activity | type | status | duration |
	// |---|---|---|---|---|
	// | 1 | remove-marker | action | ✅ succeeded | 20 ms |
}

func ExampleDiff() {
	a, err := journal.Read(filepath.Join("..", "testdata", "journals", "continuous-deviated.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := journal.Read(filepath.Join("..", "testdata", "journals", "continuous-deviated.json"))
	b.Node = "another-machine" // masked by normalisation: not a difference
	b.Deviated = false
	b.SteadyStates.After.SteadyStateMet = true
	fmt.Print(journal.Diff(a, b))
	// Output:
	// deviated: true → false
	// steady_states.after steady_state_met: false → true
}

func ExampleMaskString() {
	fmt.Println(journal.MaskString("GET http://10.244.1.17:8080/ from greeter-7d9f8c6b5-x2k4q at 2026-01-16T16:51:52Z"))
	// Output: GET http://<ip>:<port>/ from greeter-<hash>-<id> at <time>
}
