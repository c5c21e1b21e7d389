package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

// check builds one during check of a single http probe: status 200 within tolerance, or the
// given status outside it.
func check(at time.Time, status int64) *State {
	met := status == 200
	out := jsonvalue.NewObject()
	out.Set("status", status)
	out.Set("headers", jsonvalue.NewObject())
	out.Set("body", "at "+FormatTime(at))
	act := jsonvalue.NewObject()
	act.Set("type", "probe")
	act.Set("name", "site-up")
	return &State{SteadyStateMet: met, Probes: []*Run{{
		Activity: act, Output: out, Status: RunSucceeded,
		Start: FormatTime(at), End: FormatTime(at.Add(50 * time.Microsecond)), Duration: 0.00005,
		ToleranceMet: boolp(met),
	}}}
}

func raised(at time.Time, msg string) *State {
	act := jsonvalue.NewObject()
	act.Set("type", "probe")
	act.Set("name", "site-up")
	return &State{SteadyStateMet: false, Probes: []*Run{{
		Activity: act, Status: RunFailed, Exception: []string{"chaoslib.exceptions.ActivityFailed: " + msg + "\n"},
		Start: FormatTime(at), End: FormatTime(at.Add(time.Millisecond)), ToleranceMet: boolp(false),
	}}}
}

// foldedRun returns the during records of 1000 good checks, a 500, 300 good checks, two 503s,
// a connection failure and 200 good checks, folded or not, with the time of each check.
func foldedRun(fold bool) []*State {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var states []*State
	n := 0
	add := func(st *State) { states = AppendDuring(states, st, fold); n++ }
	at := func() time.Time { return t0.Add(time.Duration(n) * 100 * time.Microsecond) }
	for range 1000 {
		add(check(at(), 200))
	}
	add(check(at(), 500))
	for range 300 {
		add(check(at(), 200))
	}
	add(check(at(), 503))
	add(check(at(), 503))
	add(raised(at(), "failed to connect to http://127.0.0.1:1/: connection refused"))
	for range 200 {
		add(check(at(), 200))
	}
	return states
}

func TestAppendDuringFoldsRunsOfTheSameOutcome(t *testing.T) {
	full := foldedRun(false)
	require.Equal(t, 1504, len(full))
	for _, s := range full {
		assert.Zero(t, s.Count, "full mode never folds")
		assert.Empty(t, s.First)
	}

	folded := foldedRun(true)
	require.Len(t, folded, 6, "good×1000, 500, good×300, 503×2, raised, good×200")
	want := []struct {
		count int
		met   bool
	}{{1000, true}, {0, false}, {300, true}, {2, false}, {0, false}, {200, true}}
	for i, w := range want {
		assert.Equal(t, w.count, folded[i].Count, "record %d", i)
		assert.Equal(t, w.met, folded[i].SteadyStateMet, "record %d", i)
	}
	// The folded record keeps the first check whole and spans first start to last end.
	assert.Equal(t, full[0].Probes[0].Start, folded[0].First)
	assert.Equal(t, full[0].Probes[0].Start, folded[0].Probes[0].Start)
	assert.Equal(t, full[999].Probes[0].End, folded[0].Last)
	assert.Equal(t, int64(500), folded[1].Probes[0].Output.(*jsonvalue.Object).Value("status"))
	assert.Equal(t, int64(503), folded[3].Probes[0].Output.(*jsonvalue.Object).Value("status"))
	assert.Equal(t, full[1302].Probes[0].End, folded[3].Last)
	assert.Equal(t, RunFailed, folded[4].Probes[0].Status)

	checks, missed := DuringCounts(folded)
	assert.Equal(t, 1504, checks)
	assert.Equal(t, 4, missed)
	fc, fm := DuringCounts(full)
	assert.Equal(t, checks, fc)
	assert.Equal(t, missed, fm)
}

func TestSameOutcomeComparesWhatMatters(t *testing.T) {
	t0 := time.Now()
	assert.True(t, SameOutcome(check(t0, 200), check(t0.Add(time.Second), 200)), "times and bodies of good checks do not count")
	assert.False(t, SameOutcome(check(t0, 200), check(t0, 500)))
	assert.False(t, SameOutcome(check(t0, 500), check(t0, 503)), "a missed output's status counts")
	assert.False(t, SameOutcome(raised(t0, "a"), raised(t0, "b")), "the exception message counts")
	other := check(t0, 200)
	other.Probes[0].Activity.Set("name", "other")
	assert.False(t, SameOutcome(check(t0, 200), other), "the probe's name counts")
	two := check(t0, 200)
	two.Probes = append(two.Probes, two.Probes[0])
	assert.False(t, SameOutcome(check(t0, 200), two), "the number of probes counts")
}

func foldedJournal(fold bool) *Journal {
	exp := jsonvalue.NewObject()
	exp.Set("title", "probing")
	return &Journal{ChaoslibVersion: "chaostest", Experiment: exp, Status: StatusCompleted,
		Start: "2026-12-01T10:00:00.000000+00:00", End: "2026-12-01T10:00:01.000000+00:00",
		SteadyStates: SteadyStates{During: foldedRun(fold)}}
}

func TestFoldedJournalLoadsAndEveryFailureShows(t *testing.T) {
	j := foldedJournal(true)
	data, err := Encode(j)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\"count\": 1000,\n        \"first\": \"2026-12-01T10:00:00.000000+00:00\",\n        \"last\": ")

	// Our own reader keeps the extra keys; a reader that knows only Chaos Toolkit's keys
	// (a plain map) still reads the records.
	back, err := Parse(data)
	require.NoError(t, err)
	require.Len(t, back.SteadyStates.During, 6)
	assert.Equal(t, 1000, back.SteadyStates.During[0].Count)
	again, err := Encode(back)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again), "a folded journal round-trips byte for byte")
	var generic map[string]any
	require.NoError(t, json.Unmarshal(data, &generic))
	during := generic["steady_states"].(map[string]any)["during"].([]any)
	assert.Len(t, during, 6)

	v := VerdictOf(back)
	assert.Contains(t, v.Words, "missed in 4 of 1504 checks")

	var md bytes.Buffer
	require.NoError(t, RenderMarkdown(&md, back))
	assert.Contains(t, md.String(), "During the method: 1504 checks, 4 missed.")
	assert.Contains(t, md.String(), "(check 1304)", "the raised check is numbered among all checks")
	assert.Contains(t, md.String(), "connection refused")

	var page bytes.Buffer
	require.NoError(t, RenderHTML(&page, back))
	assert.Contains(t, page.String(), "1504 checks, 4 missed")
	assert.Contains(t, page.String(), "during #1–1000 (1000 checks with this outcome)")
	assert.Contains(t, page.String(), "during #1302–1303 (2 checks with this outcome)")
	assert.Contains(t, page.String(), "during #1001,", "the 500 is its own record")

	// The same behaviour folded and in full compares equal; a folded journal with failures
	// differs from one without.
	assert.Empty(t, Diff(foldedJournal(false), back).Changes)
	clean := foldedJournal(true)
	clean.SteadyStates.During = clean.SteadyStates.During[:1]
	d := Diff(clean, back)
	require.Len(t, d.Changes, 1)
	assert.Equal(t, "steady_states.during", d.Changes[0].Path)
	assert.Equal(t, "1504 checks, 4 missed (1 raised)", d.Changes[0].B)

	n := Normalize(back)
	assert.Equal(t, 1000, n.SteadyStates.During[0].Count)
	assert.Equal(t, MaskedTime, n.SteadyStates.During[0].First)
	assert.Equal(t, MaskedTime, n.SteadyStates.During[0].Last)
}

// wholeEncode is the whole-value encoding the streaming encoder must reproduce.
func wholeEncode(t *testing.T, j *Journal) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(withEmptySlices(j)))
	return strings.TrimSuffix(b.String(), "\n")
}

// maxWriter records the largest single write.
type maxWriter struct {
	n, largest int
}

func (w *maxWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.largest = max(w.largest, len(p))
	return len(p), nil
}

func TestEncodeStreamsTheSameTextAsAWholeValueEncoder(t *testing.T) {
	journals := map[string]*Journal{"empty": {Status: StatusCompleted}, "folded": foldedJournal(true), "full": foldedJournal(false)}
	for _, p := range allJournals(t) {
		journals[filepath.Base(p)] = mustRead(t, p)
	}
	for name, j := range journals {
		t.Run(name, func(t *testing.T) {
			got, err := Encode(j)
			require.NoError(t, err)
			assert.Equal(t, wholeEncode(t, j), string(got))
		})
	}

	// A journal of 1504 records is written in pieces no larger than one record.
	w := &maxWriter{}
	require.NoError(t, EncodeTo(w, foldedJournal(false)))
	assert.Greater(t, w.n, 500_000)
	assert.Less(t, w.largest, 2_000, "EncodeTo must write record by record, not the whole journal at once")
}

func TestEncodeToReportsAFailingWriter(t *testing.T) {
	err := EncodeTo(failWriter{}, foldedJournal(true))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	err = EncodeTo(&bytes.Buffer{}, &Journal{Run: []*Run{{Output: func() {}}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "journal: encoding")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }
