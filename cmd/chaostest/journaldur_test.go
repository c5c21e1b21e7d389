package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

// TestJournalDuringFoldedAndFull probes continuously for 0.3 s: by default the journal folds the
// alike checks (count, first, last), --journal-during full keeps one record per check; report
// and diff count the same checks either way, and a bad mode is a usage error.
func TestJournalDuringFoldedAndFull(t *testing.T) {
	dir := t.TempDir()
	ok := server(t, 200)
	exp := filepath.Join(dir, "exp.json")
	require.NoError(t, os.WriteFile(exp, []byte(`{"title": "probing", "description": "d",
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "up", "tolerance": 200, "provider": {"type": "http", "url": "`+ok.URL+`", "timeout": 3}}]},
  "method": [{"type": "action", "name": "wait", "provider": {"type": "process", "path": "sleep", "arguments": "0.3"}}]}`), 0o644))
	common := []string{"run", "--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "0.0001"}

	folded := filepath.Join(dir, "folded.json")
	code, _, stderr := cli(append(common, "--journal-path", folded, exp)...)
	require.Equal(t, 0, code, stderr)
	jf, err := journal.Read(folded)
	require.NoError(t, err)
	fc, fm := journal.DuringCounts(jf.SteadyStates.During)
	require.Len(t, jf.SteadyStates.During, 1, "nothing failed: one folded record")
	assert.Equal(t, fc, jf.SteadyStates.During[0].Count)
	assert.Greater(t, fc, 10)
	assert.Zero(t, fm)
	assert.NotEmpty(t, jf.SteadyStates.During[0].First)
	assert.NotEmpty(t, jf.SteadyStates.During[0].Last)

	full := filepath.Join(dir, "full.json")
	code, _, stderr = cli(append(common, "--journal-during", "full", "--journal-path", full, exp)...)
	require.Equal(t, 0, code, stderr)
	jl, err := journal.Read(full)
	require.NoError(t, err)
	lc, _ := journal.DuringCounts(jl.SteadyStates.During)
	assert.Equal(t, lc, len(jl.SteadyStates.During), "one record per check")
	assert.Greater(t, lc, 10)
	raw, err := os.ReadFile(full)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"count"`, "full journals have Chaos Toolkit's keys only")

	code, md, stderr := cli("report", "--format", "markdown", folded)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, md, "checks, 0 missed")
	assert.Contains(t, md, fmt.Sprintf(" %d checks", fc), "the report counts the folded checks")

	code, out, stderr := cli("diff", folded, full)
	assert.Equal(t, 0, code, "folded and full journals of the same behaviour do not differ: %s %s", out, stderr)

	code, _, stderr = cli(append(common, "--journal-during", "some", "--journal-path", full, exp)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `invalid choice "some" (choose from folded, full)`)
}
