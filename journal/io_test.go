package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func TestChaosToolkitJournalsRoundTripByteForByte(t *testing.T) {
	for _, path := range corpusJournals(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src := mustReadFile(t, path)
			j, err := Parse(src)
			require.NoError(t, err)
			out, err := Encode(j)
			require.NoError(t, err)
			assert.Equal(t, string(src), string(out), "Encode(Parse(x)) must give back Chaos Toolkit's own text")
		})
	}
}

func TestParseKeepsOrderAndIntegers(t *testing.T) {
	j := mustRead(t, filepath.Join("..", "testdata", "corpus", "journals", "ferkhan-chaos-toolkit.journal.json"))
	assert.Equal(t, "1.44.0", j.ChaoslibVersion)
	assert.Equal(t, StatusFailed, j.Status)
	assert.True(t, j.Deviated)
	require.NotNil(t, j.SteadyStates.Before)
	require.Len(t, j.SteadyStates.Before.Probes, 2)
	out, ok := j.SteadyStates.Before.Probes[1].Output.(*jsonvalue.Object)
	require.True(t, ok, "output should decode as *jsonvalue.Object, got %T", j.SteadyStates.Before.Probes[1].Output)
	assert.Equal(t, []string{"status", "headers", "body"}, out.Keys())
	assert.Equal(t, int64(200), out.Value("status"))
	headers := out.Value("headers").(*jsonvalue.Object)
	assert.Equal(t, []string{"Server", "Date", "Content-Type", "Content-Length", "Connection"}, headers.Keys())
	assert.Equal(t, "api-responds", j.SteadyStates.Before.Probes[1].Name())
	assert.Equal(t, "probe", j.SteadyStates.Before.Probes[1].Type())
	failed := j.Run[1]
	assert.Equal(t, RunFailed, failed.Status)
	assert.Nil(t, failed.Output)
	assert.True(t, strings.HasPrefix(failed.ExceptionMessage(), "chaoslib.exceptions.ActivityFailed: failed to connect to http://localhost:8080/health"), failed.ExceptionMessage())
}

func TestParseOldChaosToolkitJournal(t *testing.T) {
	j := mustRead(t, filepath.Join("..", "testdata", "journals", "ctk-old-aborted.json"))
	assert.Nil(t, j.SteadyStates.During, "an old journal has no during key")
	assert.Nil(t, j.SteadyStates.After)
	assert.Equal(t, StatusAborted, j.Status)
	start, err := ParseTime(j.Start)
	require.NoError(t, err, "naive times must parse")
	assert.Equal(t, "2026-11-20T14:03:07.120000+00:00", FormatTime(start))
	require.Len(t, j.Run, 1)
	assert.Equal(t, "", j.Run[0].Status, "an aborted record has no status")
	// Dry was a boolean in old experiments; it is kept as it was.
	assert.Equal(t, false, j.Experiment.Value("dry"))

	out, err := Encode(j)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"during": []`, "written again, the journal gains an empty during list")
	assert.Contains(t, string(out), `"after": null`)
	again, err := Parse(out)
	require.NoError(t, err)
	assert.Equal(t, j.Start, again.Start)
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"syntax", "{\n  \"status\": \"completed\",\n  oops\n}", "invalid JSON at line 3, column 3"},
		{"not an object", `[1, 2]`, "expected a Chaos Toolkit journal object"},
		{"empty object", `{}`, "not a journal"},
		{"trailing data", `{"status": "completed"} {}`, "unexpected data after the journal object"},
		{"bad output", `{"status": "completed", "run": [{"output": {"a": }}]}`, "invalid JSON"},
		{"wrong type", `{"status": "completed", "deviated": "yes"}`, "expected a Chaos Toolkit journal object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := Read(filepath.Join(t.TempDir(), "missing.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}

func TestEncodeLikePython(t *testing.T) {
	j := &Journal{
		ChaoslibVersion: "chaostest v0",
		Experiment:      jsonvalue.NewObject("title", "a <b> & ü", "dry", nil),
		Start:           "2026-01-01T00:00:00.000000+00:00",
		Status:          StatusCompleted,
		Run: []*Run{{
			Activity: jsonvalue.NewObject("type", "probe", "name", "p"),
			Output:   jsonvalue.NewObject("z", int64(1), "a", []any{true, "x<y"}),
			Start:    "s", Status: RunSucceeded, End: "e", Duration: 0.25,
		}},
	}
	out, err := Encode(j)
	require.NoError(t, err)
	text := string(out)
	assert.Contains(t, text, `"title": "a <b> & ü"`, "no HTML or non-ASCII escaping")
	assert.Contains(t, text, "\"output\": {\n        \"z\": 1,\n        \"a\": [\n          true,\n          \"x<y\"\n        ]\n      },")
	assert.Contains(t, text, `"steady_states": {
    "before": null,
    "after": null,
    "during": []
  },`)
	assert.Contains(t, text, `"rollbacks": [],`)
	assert.False(t, strings.HasSuffix(text, "\n"), "json.dump writes no final newline")
	assert.NotContains(t, text, "tolerance_met", "tolerance_met is only for hypothesis probes")
	assert.NotContains(t, text, "exception")

	_, err = Encode(nil)
	assert.Error(t, err)
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.json")
	first := mustRead(t, filepath.Join("..", "testdata", "journals", "before-not-met.json"))
	require.NoError(t, Write(path, first))
	want, err := Encode(first)
	require.NoError(t, err)
	assert.Equal(t, want, mustReadFile(t, path))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	// A journal that cannot be encoded leaves the old file whole and no temporary file behind.
	bad := &Journal{Status: StatusCompleted, Run: []*Run{{Output: make(chan int)}}}
	err = Write(path, bad)
	require.Error(t, err)
	assert.Equal(t, want, mustReadFile(t, path), "the previous journal must be untouched")

	// Overwriting replaces the whole file.
	second := mustRead(t, filepath.Join("..", "testdata", "journals", "continuous-deviated.json"))
	require.NoError(t, Write(path, second))
	got := mustRead(t, path)
	assert.Equal(t, second.Title(), got.Title())

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"journal.json"}, names, "no temporary file may be left")

	// A missing directory is an error that names the path, and creates nothing.
	err = Write(filepath.Join(dir, "nope", "journal.json"), first)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join("nope", "journal.json"))
}

// TestWriteConcurrentReaders checks that readers never see a partial journal while it is
// rewritten many times.
func TestWriteConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.json")
	big := mustRead(t, filepath.Join("..", "testdata", "journals", "continuous-deviated.json"))
	small := mustRead(t, filepath.Join("..", "testdata", "journals", "before-not-met.json"))
	require.NoError(t, Write(path, small))
	done := make(chan error)
	go func() {
		for i := 0; i < 40; i++ {
			j := big
			if i%2 == 1 {
				j = small
			}
			if err := Write(path, j); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads := 0
	for {
		select {
		case err := <-done:
			require.NoError(t, err)
			require.Positive(t, reads)
			return
		default:
		}
		_, err := Read(path)
		require.NoError(t, err, "a reader saw a partial journal")
		reads++
		if reads > 100000 {
			t.Fatal("writer did not finish after 100000 reads")
		}
	}
}

func TestAllJournalsParse(t *testing.T) {
	for _, path := range allJournals(t) {
		j := mustRead(t, path)
		assert.NotEmpty(t, j.Title(), path)
		assert.NotEmpty(t, j.Status, path)
	}
}
