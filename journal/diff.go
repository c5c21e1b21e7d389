package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chaostest/chaostest/jsonvalue"
)

// DiffResult is the difference between two journals after normalisation (see Normalize).
type DiffResult struct {
	// Changes are the differences in behaviour, in journal order: the run's status and
	// deviated flag; for each steady-state check, whether it ran and was met; for each activity
	// record of the checks, the method and the rollbacks: which activity ran, its status,
	// tolerance_met, exception message and output (leaf by leaf).
	Changes []Change
	// Notes are differences that do not count as behaviour: another experiment title, an
	// activity's definition (provider, arguments), or how many checks ran during the method
	// when both runs met (or both missed) the steady state.
	Notes []string
}

// Change is one difference in behaviour between journal A and journal B.
type Change struct {
	// Path says where, e.g. `status`, `run[1] "wait-for-recovery" output.status` or
	// `steady_states.after "api-responds" tolerance_met`.
	Path string
	// A and B are the values in each journal as compact JSON (strings quoted), or "(absent)".
	A, B string
}

// String formats the change as "path: A → B".
func (c Change) String() string {
	return c.Path + ": " + c.A + " → " + c.B
}

// Differs reports whether the journals differ in behaviour (Changes is not empty).
func (d DiffResult) Differs() bool { return len(d.Changes) > 0 }

// String lists the changes, one a line, then the notes prefixed by "note: ". It returns
// "no difference in behaviour\n" (followed by any notes) when there is no change.
func (d DiffResult) String() string {
	var b strings.Builder
	if len(d.Changes) == 0 {
		b.WriteString("no difference in behaviour\n")
	}
	for _, c := range d.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	for _, n := range d.Notes {
		b.WriteString("note: ")
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.String()
}

// absent is how a missing value is shown in a Change.
const absent = "(absent)"

// maxOutputChanges bounds the output leaves reported for one activity record.
const maxOutputChanges = 10

// Diff compares journals a and b after normalising both, so times, durations, hosts, ports and
// generated names do not count. Nil journals compare as empty ones.
func Diff(a, b *Journal) DiffResult {
	if a == nil {
		a = &Journal{}
	}
	if b == nil {
		b = &Journal{}
	}
	na, nb := Normalize(a), Normalize(b)
	d := &differ{}
	if na.Title() != nb.Title() {
		d.note("experiment title: %s → %s", jsonText(na.Title()), jsonText(nb.Title()))
	}
	d.value("status", na.Status, nb.Status)
	d.value("deviated", na.Deviated, nb.Deviated)
	d.state("steady_states.before", na.SteadyStates.Before, nb.SteadyStates.Before)
	d.runs("run", na.Run, nb.Run)
	d.during(na.SteadyStates.During, nb.SteadyStates.During)
	d.state("steady_states.after", na.SteadyStates.After, nb.SteadyStates.After)
	d.runs("rollbacks", na.Rollbacks, nb.Rollbacks)
	return DiffResult{Changes: d.changes, Notes: d.notes}
}

type differ struct {
	changes []Change
	notes   []string
}

func (d *differ) note(format string, args ...any) {
	d.notes = append(d.notes, fmt.Sprintf(format, args...))
}

func (d *differ) change(path, a, b string) {
	d.changes = append(d.changes, Change{Path: path, A: a, B: b})
}

// value records a change when a and b differ as JSON.
func (d *differ) value(path string, a, b any) {
	ja, jb := jsonText(a), jsonText(b)
	if ja != jb {
		d.change(path, ja, jb)
	}
}

func (d *differ) state(path string, a, b *State) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil:
		d.change(path, "not run", metWords(b.SteadyStateMet))
		return
	case b == nil:
		d.change(path, metWords(a.SteadyStateMet), "not run")
		return
	}
	if a.SteadyStateMet != b.SteadyStateMet {
		d.change(path+" steady_state_met", jsonText(a.SteadyStateMet), jsonText(b.SteadyStateMet))
	}
	d.runs(path, a.Probes, b.Probes)
}

func metWords(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

// during compares the checks made during the method by their outcome, not one by one: how
// many ran depends on timing.
func (d *differ) during(a, b []*State) {
	sa, sb := summarizeDuring(a), summarizeDuring(b)
	if (sa.missed > 0) != (sb.missed > 0) || (sa.raised > 0) != (sb.raised > 0) {
		d.change("steady_states.during", sa.String(), sb.String())
		return
	}
	if sa != sb {
		d.note("steady_states.during: %s → %s", sa, sb)
	}
}

type duringSummary struct{ checks, missed, raised int }

func (s duringSummary) String() string {
	if s.checks == 0 {
		return "no check"
	}
	out := fmt.Sprintf("%d %s", s.checks, plural(s.checks, "check", "checks"))
	if s.missed == 0 {
		return out + ", all met"
	}
	out += fmt.Sprintf(", %d missed", s.missed)
	if s.raised > 0 {
		out += fmt.Sprintf(" (%d raised)", s.raised)
	}
	return out
}

func summarizeDuring(states []*State) duringSummary {
	var s duringSummary
	for _, st := range states {
		if st == nil {
			continue
		}
		n := st.Checks()
		s.checks += n
		if !st.SteadyStateMet {
			s.missed += n
		}
		for _, p := range st.Probes {
			if p != nil && p.Status == RunFailed {
				s.raised += n
				break
			}
		}
	}
	return s
}

func (d *differ) runs(path string, a, b []*Run) {
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		var ra, rb *Run
		if i < len(a) {
			ra = a[i]
		}
		if i < len(b) {
			rb = b[i]
		}
		switch {
		case ra == nil && rb == nil:
			continue
		case ra == nil:
			d.change(fmt.Sprintf("%s[%d]", path, i), absent, fmt.Sprintf("%q ran", rb.Name()))
			continue
		case rb == nil:
			d.change(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%q ran", ra.Name()), absent)
			continue
		case ra.Name() != rb.Name():
			d.change(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%q ran", ra.Name()), fmt.Sprintf("%q ran", rb.Name()))
			continue
		}
		d.run(fmt.Sprintf("%s[%d] %q", path, i, ra.Name()), ra, rb)
	}
}

func (d *differ) run(path string, a, b *Run) {
	d.value(path+" status", statusOrAbsent(a.Status), statusOrAbsent(b.Status))
	if a.ToleranceMet != nil || b.ToleranceMet != nil {
		d.value(path+" tolerance_met", boolPtr(a.ToleranceMet), boolPtr(b.ToleranceMet))
	}
	if ea, eb := a.ExceptionMessage(), b.ExceptionMessage(); ea != eb {
		d.change(path+" exception", orAbsent(ea), orAbsent(eb))
	}
	var leaves []Change
	diffValues(path+" output", a.Output, b.Output, &leaves)
	for i, c := range leaves {
		if i == maxOutputChanges {
			d.note("%s output: %d more differences not listed", path, len(leaves)-maxOutputChanges)
			break
		}
		d.changes = append(d.changes, c)
	}
	if jsonText(a.Activity) != jsonText(b.Activity) {
		d.note("%s: the activity's definition differs", path)
	}
}

func statusOrAbsent(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolPtr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func orAbsent(s string) string {
	if s == "" {
		return absent
	}
	return jsonText(s)
}

// diffValues appends a Change for every leaf where a and b differ; objects are compared key by
// key and arrays index by index.
func diffValues(path string, a, b any, out *[]Change) {
	oa, aok := asObject(a)
	ob, bok := asObject(b)
	if aok && bok {
		for _, k := range oa.Keys() {
			vb, ok := ob.Get(k)
			if !ok {
				*out = append(*out, Change{Path: path + "." + k, A: jsonText(oa.Value(k)), B: absent})
				continue
			}
			diffValues(path+"."+k, oa.Value(k), vb, out)
		}
		for _, k := range ob.Keys() {
			if !oa.Has(k) {
				*out = append(*out, Change{Path: path + "." + k, A: absent, B: jsonText(ob.Value(k))})
			}
		}
		return
	}
	la, aok := a.([]any)
	lb, bok := b.([]any)
	if aok && bok {
		for i := 0; i < max(len(la), len(lb)); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(la):
				*out = append(*out, Change{Path: p, A: absent, B: jsonText(lb[i])})
			case i >= len(lb):
				*out = append(*out, Change{Path: p, A: jsonText(la[i]), B: absent})
			default:
				diffValues(p, la[i], lb[i], out)
			}
		}
		return
	}
	if ja, jb := jsonText(a), jsonText(b); ja != jb {
		*out = append(*out, Change{Path: path, A: ja, B: jb})
	}
}

func asObject(v any) (*jsonvalue.Object, bool) {
	switch x := v.(type) {
	case *jsonvalue.Object:
		return x, x != nil
	case map[string]any:
		return objectFromMap(x), true
	}
	return nil, false
}

// jsonText is v as compact JSON without HTML escaping, cut to 200 characters.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return shorten(strings.TrimSpace(b.String()), 200)
}
