package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
func Encode(j *Journal) ([]byte, error) {
	if j == nil {
		return nil, errors.New("journal: Encode of a nil journal")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(withEmptySlices(j)); err != nil {
		return nil, fmt.Errorf("journal: encoding %q: %w", j.title(), err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
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
	return &c
}

// Parse reads journal.json text written by chaostest or by Chaos Toolkit (any chaoslib version
// since 1.0: naive or offset times, with or without steady_states.during). Objects inside the
// experiment, activities and outputs keep their key order (*Object), and integers stay int64.
func Parse(data []byte) (*Journal, error) {
	var j Journal
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&j); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset-1) // Offset is just past the bad byte
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

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
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
// the whole new one, never a half-written journal, even if the process dies midway. The file
// gets mode 0644; the directory must exist.
func Write(path string, j *Journal) (err error) {
	data, err := Encode(j)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
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
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("journal: syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("journal: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
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

// UnmarshalJSON reads one activity record, decoding its output with the conventions of Object
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
		v, err := DecodeJSON(aux.Output)
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
