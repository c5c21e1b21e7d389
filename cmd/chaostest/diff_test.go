package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chaostest/chaostest/journal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runDiff(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = diffMain(args, &o, &e)
	return code, o.String(), e.String()
}

func TestDiffSame(t *testing.T) {
	a := ownJournal(t, "continuous-deviated.json")
	// A second run that differs only in volatile parts.
	j, err := journal.Read(a)
	require.NoError(t, err)
	j.Node = "elsewhere"
	j.Start = "2030-01-01T00:00:00+00:00"
	b := filepath.Join(t.TempDir(), "b.json")
	require.NoError(t, journal.Write(b, j))

	code, stdout, stderr := runDiff(a, b)
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "--- "+a+"\n+++ "+b+"\nno difference in behaviour\n", stdout)
}

func TestDiffDiffers(t *testing.T) {
	a := ownJournal(t, "continuous-deviated.json")
	j, err := journal.Read(a)
	require.NoError(t, err)
	j.Deviated = false
	j.SteadyStates.After.SteadyStateMet = true
	j.SteadyStates.After.Probes[0].ToleranceMet = new(true)
	b := filepath.Join(t.TempDir(), "b.json")
	require.NoError(t, journal.Write(b, j))

	code, stdout, stderr := runDiff(a, b)
	assert.Equal(t, 1, code, stderr)
	assert.Equal(t, "--- "+a+"\n+++ "+b+"\n"+
		"deviated: true → false\n"+
		"steady_states.after steady_state_met: false → true\n"+
		`steady_states.after[0] "latency-under-200ms" tolerance_met: false → true`+"\n", stdout)

	code, stdout, _ = runDiff("-q", a, b)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
}

func TestDiffErrors(t *testing.T) {
	a := ownJournal(t, "continuous-deviated.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{oops"), 0o644))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"one journal", []string{a}, "expected two journals A and B, got 1 arguments"},
		{"three journals", []string{a, a, a}, "expected two journals A and B, got 3 arguments"},
		{"unknown flag", []string{"-x", a, a}, "flag provided but not defined: -x"},
		{"missing", []string{a, filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{"invalid", []string{bad, a}, "invalid JSON at line 1, column 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runDiff(c.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, c.want)
			assert.Empty(t, stdout)
		})
	}
}
