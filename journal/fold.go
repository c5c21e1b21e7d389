package journal

import (
	"fmt"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Folding of the checks made during the method.
//
// With --hypothesis-strategy continuously and a small --hypothesis-frequency, a run makes
// thousands of steady-state checks a second; Chaos Toolkit journals each one (about 600 bytes).
// chaostest folds by default: a run of consecutive checks with the same outcome is one State
// record, the first check of the run whole, plus three keys Chaos Toolkit readers ignore:
// "count" (how many checks the record stands for), "first" (start of the first) and "last"
// (end of the last). A check whose outcome differs from the one before starts a new record and
// is kept whole, so every change (and every failure) stays in the journal. A record that stands
// for one check has none of the three keys, as in Chaos Toolkit.

// Checks returns how many checks the record stands for: its Count when folded, else 1 (0 for
// nil).
func (s *State) Checks() int {
	switch {
	case s == nil:
		return 0
	case s.Count > 1:
		return s.Count
	default:
		return 1
	}
}

// DuringCounts returns how many checks the records stand for and how many of those missed the
// steady state, counting folded records by their count.
func DuringCounts(states []*State) (checks, missed int) {
	for _, s := range states {
		n := s.Checks()
		checks += n
		if s != nil && !s.SteadyStateMet {
			missed += n
		}
	}
	return checks, missed
}

// AppendDuring appends the check st to the during records and returns them. When fold is true
// and st has the same outcome as the last record (see SameOutcome), st is folded into that record
// instead (its Count grows, Last becomes st's end) and st itself is dropped.
func AppendDuring(states []*State, st *State, fold bool) []*State {
	if fold && len(states) > 0 {
		if prev := states[len(states)-1]; prev != nil && SameOutcome(prev, st) {
			if prev.Count < 2 {
				prev.Count = 1
				prev.First = stateStart(prev)
			}
			prev.Count += st.Checks()
			if st.Last != "" {
				prev.Last = st.Last
			} else {
				prev.Last = stateEnd(st)
			}
			return states
		}
	}
	return append(states, st)
}

// stateStart is the start of a check: its first probe's start.
func stateStart(s *State) string {
	if s.First != "" {
		return s.First
	}
	for _, p := range s.Probes {
		if p != nil && p.Start != "" {
			return p.Start
		}
	}
	return ""
}

// stateEnd is the end of a check: its last probe's end.
func stateEnd(s *State) string {
	for i := len(s.Probes) - 1; i >= 0; i-- {
		if p := s.Probes[i]; p != nil && p.End != "" {
			return p.End
		}
	}
	return ""
}

// SameOutcome reports whether two checks had the same outcome: the same steady_state_met, the
// same probes in the same order with the same status and tolerance_met, the same exception
// message, and, for a probe that missed or raised, the same output status (an http or process
// output's "status") or the same scalar output. Outputs of probes within their tolerance are not
// compared (a body with a time in it still folds).
func SameOutcome(a, b *State) bool {
	if a == nil || b == nil || a.SteadyStateMet != b.SteadyStateMet || len(a.Probes) != len(b.Probes) {
		return false
	}
	for i, pa := range a.Probes {
		pb := b.Probes[i]
		if pa == nil || pb == nil {
			if pa != pb {
				return false
			}
			continue
		}
		if pa.Status != pb.Status || !sameBoolPtr(pa.ToleranceMet, pb.ToleranceMet) || pa.Name() != pb.Name() {
			return false
		}
		if pa.ExceptionMessage() != pb.ExceptionMessage() {
			return false
		}
		if pa.Status == RunFailed || (pa.ToleranceMet != nil && !*pa.ToleranceMet) {
			if outcomeKey(pa.Output) != outcomeKey(pb.Output) {
				return false
			}
		}
	}
	return true
}

func sameBoolPtr(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// outcomeKey is what distinguishes two missed outputs: the "status" of an object output, or a
// scalar output itself.
func outcomeKey(v any) string {
	switch o := v.(type) {
	case nil:
		return "null"
	case *jsonvalue.Object:
		if s, ok := o.Get("status"); ok {
			return fmt.Sprintf("status %T %v", s, s)
		}
		return "object"
	case map[string]any:
		if s, ok := o["status"]; ok {
			return fmt.Sprintf("status %T %v", s, s)
		}
		return "object"
	case string, bool, int, int64, float64:
		return fmt.Sprintf("%T %v", o, o)
	default:
		return fmt.Sprintf("%T", v)
	}
}
