package engine

import (
	"slices"
	"strings"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// SecretMask replaces secret values in journals and log lines: the journal's copy of the
// experiment's "secrets" block, and every substituted secret value wherever it shows (see
// MinMaskedSecretLen). Reports use the same mask (journal.Masked).
const SecretMask = journal.Masked

// MinMaskedSecretLen is the length from which a secret value is masked wherever it appears
// inside a log line or a journal string (a title, an output, an exception). Shorter values (one
// to three characters: "1", "no", "abc") would garble every line they happen to occur in, so
// they are masked only where a whole string is that value. Empty values are never masked.
const MinMaskedSecretLen = 4

// secretMasker hides the run's secret values (string values of the resolved secrets: inline,
// from the environment, from a var file) in log lines and in the journal.
type secretMasker struct {
	inside *strings.Replacer // values of MinMaskedSecretLen or more
	whole  map[string]bool   // every non-empty value
}

// newMasker collects the string values of the resolved secrets (scope → key → value, nested
// objects walked). It returns nil when there are none.
func newMasker(secrets *jsonvalue.Object) *secretMasker {
	var values []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x != "" {
				values = append(values, x)
			}
		case *jsonvalue.Object:
			for _, k := range x.Keys() {
				walk(x.Value(k))
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(secrets)
	if len(values) == 0 {
		return nil
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	m := &secretMasker{whole: map[string]bool{}}
	var pairs []string
	for _, v := range values {
		if !m.whole[v] && len(v) >= MinMaskedSecretLen {
			pairs = append(pairs, v, SecretMask)
		}
		m.whole[v] = true
	}
	if len(pairs) > 0 {
		m.inside = strings.NewReplacer(pairs...)
	}
	return m
}

// String masks s.
func (m *secretMasker) String(s string) string {
	if m == nil || s == "" {
		return s
	}
	if m.whole[s] {
		return SecretMask
	}
	if m.inside != nil {
		return m.inside.Replace(s)
	}
	return s
}

// Value returns v with every string (object keys too) masked, copying only what changes.
func (m *secretMasker) Value(v any) any {
	if m == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return m.String(x)
	case *jsonvalue.Object:
		return m.object(x)
	case []any:
		var c []any
		for i, e := range x {
			me := m.Value(e)
			if c == nil && !same(me, e) {
				c = slices.Clone(x)
			}
			if c != nil {
				c[i] = me
			}
		}
		if c == nil {
			return x
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[m.String(k)] = m.Value(e)
		}
		return c
	}
	return v
}

func (m *secretMasker) object(o *jsonvalue.Object) *jsonvalue.Object {
	if o == nil {
		return nil
	}
	changed := false
	keys := o.Keys()
	vals := make([]any, len(keys))
	mkeys := make([]string, len(keys))
	for i, k := range keys {
		mkeys[i] = m.String(k)
		vals[i] = m.Value(o.Value(k))
		if mkeys[i] != k || !same(vals[i], o.Value(k)) {
			changed = true
		}
	}
	if !changed {
		return o
	}
	c := &jsonvalue.Object{}
	for i := range keys {
		c.Set(mkeys[i], vals[i])
	}
	return c
}

// same reports whether Value left v as it was (strings by value, containers by identity).
func same(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *jsonvalue.Object:
		y, ok := b.(*jsonvalue.Object)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case map[string]any:
		return false
	}
	return true
}

// Journal masks the journal in place: the experiment copy (title included), and each record's
// activity, output and exception.
func (m *secretMasker) Journal(j *journal.Journal) {
	if m == nil || j == nil {
		return
	}
	j.Experiment = m.object(j.Experiment)
	rec := func(r *journal.Run) {
		if r == nil {
			return
		}
		r.Activity = m.object(r.Activity)
		r.Output = m.Value(r.Output)
		for i, line := range r.Exception {
			r.Exception[i] = m.String(line)
		}
	}
	states := append([]*journal.State{j.SteadyStates.Before, j.SteadyStates.After}, j.SteadyStates.During...)
	for _, s := range states {
		if s != nil {
			for _, r := range s.Probes {
				rec(r)
			}
		}
	}
	for _, r := range j.Run {
		rec(r)
	}
	for _, r := range j.Rollbacks {
		rec(r)
	}
}

// maskingLog wraps the run's logger so every line has the run's secret values masked (the
// masker is known once the secrets are loaded).
func (r *runner) maskingLog(log Logger) Logger {
	return func(level Level, msg string) {
		log(level, r.masker.String(msg))
	}
}

// maskJournal masks the run's secret values in its journal.
func (r *runner) maskJournal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.masker.Journal(r.j)
}
