package journal

import (
	"fmt"
	"strings"
)

// Verdict names the outcome of a run, as reports show it.
type Verdict struct {
	// Name is one of "completed", "deviated", "failed", "aborted", "interrupted".
	Name string
	// Words explains the outcome in one sentence.
	Words string
	// OK is true when a CI gate should pass: status completed and not deviated (the exit code
	// chaos run gives is 0). A run whose steady state was not met before the method is OK by
	// Chaos Toolkit's rules but reported as inconclusive in Words.
	OK bool
}

// VerdictOf works out the verdict of a journal from its status, deviated flag and steady
// states, following Chaos Toolkit's failure matrix: interrupted and aborted win over everything,
// then failed, then deviated, then completed.
func VerdictOf(j *Journal) Verdict {
	switch {
	case j == nil:
		return Verdict{Name: "failed", Words: "no journal"}
	case j.Status == StatusInterrupted:
		return Verdict{Name: "interrupted", Words: "The run was interrupted (signal or control) before it finished." + deviatedSuffix(j)}
	case j.Status == StatusAborted:
		w := "The run was aborted by an error outside an activity"
		if r := firstAborted(j); r != nil {
			w += fmt.Sprintf(" (during %q)", r.Name())
		}
		return Verdict{Name: "aborted", Words: w + "." + deviatedSuffix(j)}
	case j.Status == StatusFailed:
		w := "The run failed"
		if where := firstFailedHypothesisProbe(j); where != "" {
			w += ": " + where
		}
		return Verdict{Name: "failed", Words: w + "." + deviatedSuffix(j)}
	case j.Deviated:
		w := "The system deviated: the steady state did not hold after the method"
		if p := firstMissed(j.SteadyStates.After); p != nil {
			w += fmt.Sprintf(" (probe %q missed its tolerance)", p.Name())
		}
		return Verdict{Name: "deviated", Words: w + "."}
	case j.Status == StatusCompleted || j.Status == "":
		if b := j.SteadyStates.Before; b != nil && !b.SteadyStateMet {
			w := "Completed, but inconclusive: the steady state was not met before the method, so the method did not run"
			if p := firstMissed(b); p != nil {
				w += fmt.Sprintf(" (probe %q missed its tolerance)", p.Name())
			}
			return Verdict{Name: "completed", Words: w + ".", OK: true}
		}
		w := "Completed: the steady state held"
		if d := summarizeDuring(j.SteadyStates.During); d.missed > 0 {
			w = fmt.Sprintf("Completed, but the steady state was missed in %d of %d checks during the method (Chaos Toolkit does not fail a run for that without --fail-fast)", d.missed, d.checks)
		} else if j.SteadyStates.Before == nil && j.SteadyStates.After == nil {
			w = "Completed: no steady-state check ran"
			if d.checks > 0 {
				w = fmt.Sprintf("Completed: the steady state held in all %d checks during the method", d.checks)
			}
		}
		if n := countFailed(j.Run); n > 0 {
			w += fmt.Sprintf("; %d method %s failed (Chaos Toolkit does not fail a run for that)", n, plural(n, "activity", "activities"))
		}
		return Verdict{Name: "completed", Words: w + ".", OK: true}
	default:
		return Verdict{Name: j.Status, Words: fmt.Sprintf("Unknown status %q.", j.Status)}
	}
}

func deviatedSuffix(j *Journal) string {
	if j.Deviated {
		return " The system also deviated from its steady state."
	}
	return ""
}

func firstAborted(j *Journal) *Run {
	for _, r := range j.Run {
		if r != nil && r.Status == "" {
			return r
		}
	}
	return nil
}

func firstFailedHypothesisProbe(j *Journal) string {
	check := func(s *State, phase string) string {
		if s == nil {
			return ""
		}
		for _, p := range s.Probes {
			if p != nil && p.Status == RunFailed {
				msg := strings.TrimPrefix(p.ExceptionMessage(), "chaoslib.exceptions.ActivityFailed: ")
				if msg != "" {
					msg = " (" + shorten(msg, 160) + ")"
				}
				return fmt.Sprintf("probe %q raised in the steady-state check %s the method%s", p.Name(), phase, msg)
			}
		}
		return ""
	}
	if w := check(j.SteadyStates.Before, "before"); w != "" {
		return w
	}
	for _, s := range j.SteadyStates.During {
		if w := check(s, "during"); w != "" {
			return w
		}
	}
	if w := check(j.SteadyStates.After, "after"); w != "" {
		return w
	}
	for _, s := range j.SteadyStates.During {
		if s != nil && !s.SteadyStateMet {
			return "the steady state was missed during the method (fail-fast)"
		}
	}
	return ""
}

func firstMissed(s *State) *Run {
	if s == nil {
		return nil
	}
	for _, p := range s.Probes {
		if p != nil && p.ToleranceMet != nil && !*p.ToleranceMet {
			return p
		}
	}
	return nil
}

func countFailed(rs []*Run) int {
	n := 0
	for _, r := range rs {
		if r != nil && r.Status == RunFailed {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
