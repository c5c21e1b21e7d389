package chaostest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
)

// Result is what T.Run and RunFile return: the outcome in one word, the journal, and every
// failure found (whether the test expected it or not).
type Result struct {
	// Outcome is "held" (the steady state held and nothing failed), "deviated", "failed",
	// "inconclusive", "aborted" or "interrupted"; when several apply, the first of interrupted,
	// aborted, inconclusive, deviated, failed. See T.Run and Expect.
	Outcome string
	// Journal is the run's journal, as written to disk (secrets masked).
	Journal *journal.Journal
	// Failures holds one message per failure found, as the test reports them: a deviation with
	// its probe, tolerance, output and why; each failed action or rollback; an interruption.
	Failures []string
}

const (
	outcomeHeld         = "held"
	outcomeDeviated     = "deviated"
	outcomeFailed       = "failed"
	outcomeInconclusive = "inconclusive"
	outcomeAborted      = "aborted"
	outcomeInterrupted  = "interrupted"
)

// failure is one failure found in a run, with the outcome it belongs to.
type failure struct {
	kind, msg string
}

// judge works out the outcome and the failures of a finished run.
func judge(r *engine.Runner, j *journal.Journal) (*Result, []failure) {
	var fs []failure
	add := func(kind, format string, args ...any) {
		fs = append(fs, failure{kind, fmt.Sprintf(format, args...)})
	}
	if b := j.SteadyStates.Before; b != nil && !b.SteadyStateMet && j.Status != journal.StatusAborted {
		add(outcomeInconclusive, "chaostest: inconclusive: the steady state was not met before the method, so the experiment says nothing about resilience.\n%s", explain(r, b))
	} else {
		switch j.Status {
		case journal.StatusAborted:
			add(outcomeAborted, "chaostest: the experiment was aborted: %s", lastCrash(r, j))
		case journal.StatusInterrupted:
			add(outcomeInterrupted, "chaostest: the experiment was interrupted (rollbacks were played)")
		}
		if j.Deviated {
			add(outcomeDeviated, "chaostest: the steady state deviated after the method: a weakness was found.\n%s", explain(r, j.SteadyStates.After))
		}
		if j.Status == journal.StatusFailed && !j.Deviated {
			for _, st := range j.SteadyStates.During {
				if !st.SteadyStateMet {
					add(outcomeFailed, "chaostest: the steady state was not met while the method ran (fail fast).\n%s", explain(r, st))
					break
				}
			}
		}
		for _, rec := range j.Run {
			if rec.Status == journal.RunFailed && rec.Type() == "action" {
				add(outcomeFailed, "chaostest: action '%s' failed: %s", rec.Name(), failureOf(rec))
			}
		}
		for _, rec := range j.Rollbacks {
			if rec.Status == journal.RunFailed {
				add(outcomeFailed, "chaostest: rollback '%s' failed: %s", rec.Name(), failureOf(rec))
			}
		}
	}
	res := &Result{Outcome: outcomeHeld, Journal: j}
	for _, kind := range []string{outcomeInterrupted, outcomeAborted, outcomeInconclusive, outcomeDeviated, outcomeFailed} {
		if res.Outcome == outcomeHeld && hasKind(fs, kind) {
			res.Outcome = kind
		}
	}
	for _, f := range fs {
		res.Failures = append(res.Failures, f.msg)
	}
	return res, fs
}

func hasKind(fs []failure, kind string) bool {
	for _, f := range fs {
		if f.kind == kind {
			return true
		}
	}
	return false
}

// report fails the test for every failure that is not of the expected kind, and when the
// expected outcome did not happen.
func (ct *T) report(res *Result, fs []failure) {
	ct.tb.Helper()
	want := ct.o.expect
	if want == "" {
		want = outcomeHeld
	}
	for _, f := range fs {
		if f.kind != want {
			ct.tb.Errorf("%s", f.msg)
		}
	}
	if want == outcomeHeld || hasKind(fs, want) {
		return
	}
	if want == outcomeDeviated && res.Outcome == outcomeHeld {
		ct.tb.Errorf("chaostest: expected the steady state to deviate after the method (Expect(%q)), but it held", want)
		return
	}
	ct.tb.Errorf("chaostest: expected the outcome %q (Expect), got %q", want, res.Outcome)
}

func lastCrash(r *engine.Runner, j *journal.Journal) string {
	for _, rec := range append(append([]*journal.Run{}, j.Run...), j.Rollbacks...) {
		if rec.Status == "" {
			return fmt.Sprintf("activity '%s': %s", rec.Name(), r.Why(rec))
		}
	}
	if a := r.Aborted(); a != "" {
		return a
	}
	return "see the log above"
}

// explain describes the probe that missed: its name, tolerance, output and why.
func explain(r *engine.Runner, st *journal.State) string {
	if st == nil || len(st.Probes) == 0 {
		return "(no probe ran)"
	}
	rec := st.Probes[len(st.Probes)-1]
	tol := rec.Activity.Value("tolerance")
	var b strings.Builder
	fmt.Fprintf(&b, "  probe:     %s\n", rec.Name())
	fmt.Fprintf(&b, "  tolerance: %s\n", compactJSON(tol))
	if rec.Status == journal.RunFailed {
		fmt.Fprintf(&b, "  output:    none, the probe failed: %s", failureOf(rec))
		return b.String()
	}
	fmt.Fprintf(&b, "  output:    %s", truncate(compactJSON(rec.Output), 600))
	if why := shortWhy(r.Why(rec)); why != "" {
		fmt.Fprintf(&b, "\n  why:       %s", why)
	}
	return b.String()
}

// shortWhy keeps the reason to one line: the output is printed just above, so a copy of it in
// Python's syntax (what the engine appends in parentheses) is dropped.
func shortWhy(why string) string {
	if i := strings.Index(why, " ("); i > 0 && strings.HasSuffix(why, ")") {
		why = why[:i]
	}
	return truncate(why, 200)
}

// failureOf returns a failed record's message without the Chaos Toolkit exception prefix and,
// for a panic, with the frame that panicked as file:line.
func failureOf(rec *journal.Run) string {
	msg := strings.TrimPrefix(rec.ExceptionMessage(), strings.TrimSpace(engine.ExceptionPrefix)+" ")
	if strings.HasPrefix(msg, "panic: ") {
		if at := panicFrame(rec.Exception); at != "" {
			msg += " (at " + at + ")"
		}
	}
	return msg
}

// panicFrame finds, in a Go stack recorded as exception lines, the file:line of the function
// that called panic (or where the runtime panicked).
func panicFrame(lines []string) string {
	var stack []string
	for _, l := range lines {
		stack = append(stack, strings.TrimRight(l, "\n"))
	}
	for i, l := range stack {
		if !strings.HasPrefix(l, "panic(") {
			continue
		}
		// stack[i+1] is panic's own file; stack[i+2] the function that panicked, stack[i+3] its file.
		if i+3 < len(stack) && strings.HasPrefix(stack[i+3], "\t") {
			loc := strings.TrimSpace(stack[i+3])
			if sp := strings.IndexByte(loc, ' '); sp > 0 {
				loc = loc[:sp]
			}
			return filepath.Base(loc)
		}
	}
	return ""
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
