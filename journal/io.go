package journal

import (
	"github.com/chaostest/chaostest/jsonvalue"

	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Encode returns the journal as journal.json text: indented by two spaces, keys in Chaos
// Toolkit's order, no HTML escaping ("<" stays "<"), non-ASCII characters written as they are,
// and no final newline. This is what Python's json.dump(indent=2, ensure_ascii=False) writes
// (Chaos Toolkit's journals read and written again come out byte for byte the same), except for
// float formatting details (Go writes 2 where Python writes 2.0, and 0.00001 where
// Python writes 1e-05) and that U+2028/U+2029 are escaped.
//
// Nil slices are written as [] (steady_states.during, run, rollbacks, probes), as Chaos Toolkit
// writes them, so a journal read from an old Chaos Toolkit version without "during" gains
// "during": [] when written again.
//
// A value (in the experiment, an activity or an output) nested deeper than jsonvalue.MaxDepth, which no
// loader accepts but a Go provider may return, is written as CutMarker at that depth, so the
// journal is always written.
func Encode(j *Journal) ([]byte, error) {
	var b bytes.Buffer
	if err := EncodeTo(&b, j); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// EncodeTo writes the journal text (see Encode) to w as it encodes it, one record at a time, so
// a large journal is never held whole in memory a second time.
func EncodeTo(w io.Writer, j *Journal) error {
	if j == nil {
		return errors.New("journal: Encode of a nil journal")
	}
	c := withEmptySlices(j)
	s := &streamEncoder{w: w}
	s.raw("{\n")
	s.field("  ", "chaoslib-version", c.ChaoslibVersion, true)
	s.field("  ", "platform", c.Platform, true)
	s.field("  ", "node", c.Node, true)
	s.field("  ", "experiment", c.Experiment, true)
	s.field("  ", "start", c.Start, true)
	s.field("  ", "status", c.Status, true)
	s.field("  ", "deviated", c.Deviated, true)
	s.raw("  \"steady_states\": {\n")
	s.field("    ", "before", c.SteadyStates.Before, true)
	s.field("    ", "after", c.SteadyStates.After, true)
	s.raw("    \"during\": ")
	list(s, "    ", c.SteadyStates.During)
	s.raw("\n  },\n  \"run\": ")
	list(s, "  ", c.Run)
	s.raw(",\n  \"rollbacks\": ")
	list(s, "  ", c.Rollbacks)
	s.raw(",\n")
	s.field("  ", "end", c.End, true)
	s.field("  ", "duration", c.Duration, false)
	s.raw("}")
	if s.encErr != nil {
		return &encodeError{fmt.Errorf("journal: encoding %q: %w", j.title(), s.encErr)}
	}
	return s.err
}

// encodeError is a value that cannot be encoded, as opposed to a failing writer.
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// streamEncoder writes journal text piece by piece, with the indentation a whole-value
// json.Encoder (SetIndent("", "  "), no HTML escaping) gives, and keeps the first error.
type streamEncoder struct {
	w      io.Writer
	buf    bytes.Buffer
	err    error // the first error, of encoding or of writing
	encErr error // the encoding error, when that was it
}

func (s *streamEncoder) raw(text string) {
	if s.err == nil {
		_, s.err = io.WriteString(s.w, text)
	}
}

// value writes v as indented JSON whose continuation lines start with prefix.
func (s *streamEncoder) value(prefix string, v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		s.err, s.encErr = err, err
		return
	}
	_, s.err = s.w.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
}

// field writes `prefix"key": value` and a comma when more follow, then a line break.
func (s *streamEncoder) field(prefix, key string, v any, more bool) {
	s.raw(prefix + "\"" + key + "\": ")
	s.value(prefix, v)
	if more {
		s.raw(",\n")
	} else {
		s.raw("\n")
	}
}

// list writes a JSON array of records one element at a time.
func list[E any](s *streamEncoder, prefix string, items []E) {
	if len(items) == 0 {
		s.raw("[]")
		return
	}
	s.raw("[\n")
	inner := prefix + "  "
	for i, it := range items {
		s.raw(inner)
		s.value(inner, it)
		if i < len(items)-1 {
			s.raw(",\n")
		} else {
			s.raw("\n")
		}
	}
	s.raw(prefix + "]")
}

// withEmptySlices returns a shallow copy of j whose nil lists are empty lists.
func withEmptySlices(j *Journal) *Journal {
	c := *j
	if c.SteadyStates.During == nil {
		c.SteadyStates.During = []*State{}
	}
	if c.Run == nil {
		c.Run = []*Run{}
	}
	if c.Rollbacks == nil {
		c.Rollbacks = []*Run{}
	}
	fix := func(s *State) *State {
		if s == nil || s.Probes != nil {
			return s
		}
		sc := *s
		sc.Probes = []*Run{}
		return &sc
	}
	c.SteadyStates.Before = fix(c.SteadyStates.Before)
	c.SteadyStates.After = fix(c.SteadyStates.After)
	if len(c.SteadyStates.During) > 0 {
		during := make([]*State, len(c.SteadyStates.During))
		for i, s := range c.SteadyStates.During {
			during[i] = fix(s)
		}
		c.SteadyStates.During = during
	}
	clipJournal(&c)
	return &c
}

// clipJournal replaces, in a shallow copy of a journal, the experiment, states and records that
// nest deeper than jsonvalue.MaxDepth by clipped copies (see Encode). Records within the limit are shared.
func clipJournal(c *Journal) {
	c.Experiment = clipObject(c.Experiment)
	runs := func(rs []*Run) []*Run {
		var out []*Run
		for i, r := range rs {
			if r == nil {
				continue
			}
			act, output := clipObject(r.Activity), clipValue(r.Output)
			if act == r.Activity && !depthOver(r.Output, jsonvalue.MaxDepth) {
				continue
			}
			if out == nil {
				out = append([]*Run(nil), rs...)
			}
			rc := *r
			rc.Activity, rc.Output = act, output
			out[i] = &rc
		}
		if out == nil {
			return rs
		}
		return out
	}
	state := func(s *State) *State {
		if s == nil {
			return nil
		}
		sc := *s
		sc.Probes = runs(s.Probes)
		return &sc
	}
	c.SteadyStates.Before = state(c.SteadyStates.Before)
	c.SteadyStates.After = state(c.SteadyStates.After)
	if len(c.SteadyStates.During) > 0 {
		during := make([]*State, len(c.SteadyStates.During))
		for i, s := range c.SteadyStates.During {
			during[i] = state(s)
		}
		c.SteadyStates.During = during
	}
	c.Run = runs(c.Run)
	c.Rollbacks = runs(c.Rollbacks)
}

// Parse reads journal.json text written by chaostest or by Chaos Toolkit (any chaoslib version
// since 1.0: naive or offset times, with or without steady_states.during). Objects inside the
// experiment, activities and outputs keep their key order (*jsonvalue.Object), and integers stay int64.
func Parse(data []byte) (*Journal, error) {
	var j Journal
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&j); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := jsonvalue.Position(data, se.Offset-1) // Offset is just past the bad byte
			return nil, fmt.Errorf("journal: invalid JSON at line %d, column %d: %w", line, col, err)
		}
		return nil, fmt.Errorf("journal: expected a Chaos Toolkit journal object: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("journal: unexpected data after the journal object at offset %d", dec.InputOffset())
	}
	if j.Experiment == nil && j.Status == "" && j.Start == "" {
		return nil, errors.New("journal: not a journal: none of \"experiment\", \"status\" or \"start\" is set")
	}
	return &j, nil
}

// Read reads and parses the journal file at path (see Parse).
func Read(path string) (*Journal, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal: reading: %w", err)
	}
	j, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return j, nil
}

// Write writes j to path atomically: the text (see Encode) goes to a temporary file in the same
// directory, which is synced and then renamed over path, so a reader sees either the old file or
// the whole new one, never a half-written journal, even if the process dies midway. A new file
// gets mode 0644, an existing one keeps its mode; the directory must exist (CheckDestination
// checks all this before a run). When path is a symbolic link, its target is replaced and the
// link stays. A device or a named pipe (/dev/stdout) is written to directly.
func Write(path string, j *Journal) (err error) {
	if j == nil {
		return errors.New("journal: Encode of a nil journal")
	}
	if path == "" {
		return errors.New("journal: writing: the journal path is empty")
	}
	target, direct, err := destination(path)
	if err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if direct {
		return writeDirect(path, j)
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(target); err == nil {
		if st.IsDir() {
			return fmt.Errorf("journal: writing %s: it is a directory", path)
		}
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err = EncodeTo(bw, j); err != nil {
		var ee *encodeError
		if errors.As(err, &ee) {
			return ee
		}
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("journal: syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, target); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	// Make the rename itself durable. Some file systems cannot sync a directory; the file is in
	// place all the same, so that is not an error.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writeDirect writes the journal to a device or pipe, as Python's open(path, "w") would.
func writeDirect(path string, j *Journal) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := EncodeTo(bw, j); err != nil {
		_ = f.Close()
		var ee *encodeError
		if errors.As(err, &ee) {
			return ee
		}
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	return nil
}

// UnmarshalJSON reads one activity record, decoding its output with the conventions of jsonvalue.Object
// (ordered objects, int64 integers) rather than encoding/json's maps and float64s.
func (r *Run) UnmarshalJSON(data []byte) error {
	type plain Run
	var aux struct {
		plain
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*r = Run(aux.plain)
	r.Output = nil
	if len(aux.Output) > 0 {
		v, err := jsonvalue.Decode(aux.Output)
		if err != nil {
			return fmt.Errorf("output: %w", err)
		}
		r.Output = v
	}
	return nil
}

// title returns the experiment's title, or "" when there is none.
func (j *Journal) title() string {
	if j == nil {
		return ""
	}
	s, _ := j.Experiment.Value("title").(string)
	return s
}

// Title returns the experiment's title as recorded in the journal, or "" when it has none.
func (j *Journal) Title() string { return j.title() }

// Name returns the activity's name, or "" when it has none.
func (r *Run) Name() string {
	if r == nil {
		return ""
	}
	s, _ := r.Activity.Value("name").(string)
	return s
}

// Type returns the activity's type ("action" or "probe"), or "" when it has none.
func (r *Run) Type() string {
	if r == nil {
		return ""
	}
	s, _ := r.Activity.Value("type").(string)
	return s
}

// ExceptionMessage returns the last line of the record's exception without its trailing newline
// (for Chaos Toolkit "chaoslib.exceptions.ActivityFailed: <message>"), or "" when there is none.
func (r *Run) ExceptionMessage() string {
	if r == nil {
		return ""
	}
	for i := len(r.Exception) - 1; i >= 0; i-- {
		s := trimNewlines(r.Exception[i])
		if s != "" {
			return s
		}
	}
	return ""
}

func trimNewlines(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	for len(s) > 0 && (s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}
