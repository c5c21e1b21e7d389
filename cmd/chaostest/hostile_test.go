package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

// TestRunRefusesDeepNestingBeforeTheMethod: nesting past the limit under a key chaostest does
// not know is refused at load time: the method (which would create a file) never runs.
func TestRunRefusesDeepNestingBeforeTheMethod(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "method-ran")
	exp := filepath.Join(dir, "exp.json")
	deep := strings.Repeat("[", 5_000_000) // 5 MB: crashed the Go runtime with a stack overflow
	require.NoError(t, os.WriteFile(exp, []byte(`{"title": "t", "description": "d",
  "method": [{"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["`+marker+`"]}}],
  "x": `+deep+`}`), 0o644))
	jp := filepath.Join(dir, "journal.json")
	code, out, errs := cli("run", "--journal-path", jp, exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errs, exp+": line 3, column 1007: arrays and objects nest deeper than 1000 levels (the nesting limit)")
	assert.Less(t, len(out+errs), 1000)
	assert.NoFileExists(t, marker)
	assert.NoFileExists(t, jp)

	// The same through --var-file: a load error (exit 1, as chaos's crash on it), before
	// anything runs.
	vf := filepath.Join(dir, "vars.json")
	require.NoError(t, os.WriteFile(vf, []byte(deep), 0o644))
	ok := filepath.Join(dir, "ok.json")
	require.NoError(t, os.WriteFile(ok, []byte(`{"title": "t", "description": "d",
  "method": [{"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["`+marker+`"]}}]}`), 0o644))
	code, out, errs = cli("run", "--journal-path", jp, "--var-file", vf, ok)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errs, "var file "+vf+": line 1, column 1001: arrays and objects nest deeper than 1000 levels (the nesting limit)")
	assert.NoFileExists(t, marker)

	// --max-file-size applies to experiments and var files alike.
	code, out, errs = cli("run", "--journal-path", jp, "--max-file-size", "1k", "--var-file", vf, ok)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errs, "var file "+vf+": too large: 4.8 MiB, over the file size limit of 1 KiB")
	st, err := os.Stat(ok)
	require.NoError(t, err)
	code, out, errs = cli("validate", "--max-file-size", "100", ok)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errs, fmt.Sprintf("%s: too large: %d bytes, over the file size limit of 100 bytes", ok, st.Size()))
	code, _, errs = cli("validate", "--max-file-size", "lots", ok)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `invalid size "lots"`)
	assert.NoFileExists(t, marker)
}

// touchExperiment writes an experiment whose method creates marker.
func touchExperiment(t *testing.T, dir, marker string) string {
	t.Helper()
	exp := filepath.Join(dir, "exp.json")
	require.NoError(t, os.WriteFile(exp, []byte(`{"title": "t", "description": "d",
  "method": [{"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["`+marker+`"]}}]}`), 0o644))
	return exp
}

// TestRunChecksJournalPathFirst: a journal path the journal cannot be written to is refused
// before anything runs (exit 1, the method never runs), as is one naming the experiment or a
// var file.
func TestRunChecksJournalPathFirst(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "method-ran")
	exp := touchExperiment(t, dir, marker)
	before, err := os.ReadFile(exp)
	require.NoError(t, err)
	vf := filepath.Join(dir, "vars.json")
	require.NoError(t, os.WriteFile(vf, []byte(`{"configuration": {"a": 1}}`), 0o644))
	cases := map[string]string{
		"":                                      "the journal path is empty",
		filepath.Join(dir, "missing", "j.json"): "the directory " + filepath.Join(dir, "missing") + " does not exist",
		"/sys/j.json":                           "cannot create a file in /sys: permission denied",
		dir:                                     "it is a directory",
		exp:                                     "the journal path " + exp + " is the experiment " + exp + ": refusing to overwrite it with the journal",
		filepath.Join(dir, ".", "exp.json"):     "is the experiment " + exp + ": refusing to overwrite it",
		vf:                                      "the journal path " + vf + " is the var file " + vf + ": refusing to overwrite it with the journal",
	}
	for jp, want := range cases {
		code, out, errs := cli("run", "--journal-path", jp, "--var-file", vf, exp)
		assert.Equal(t, 1, code, jp)
		assert.Contains(t, out+errs, want, jp)
		assert.NoFileExists(t, marker, "the method ran with journal path %q", jp)
	}
	after, err := os.ReadFile(exp)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the experiment must be untouched")

	jp := filepath.Join(dir, "journal.json")
	code, _, out := cli("run", "--journal-path", jp, exp)
	require.Equal(t, 0, code, out)
	assert.FileExists(t, marker)
	j, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, "completed", j.Status)
}

// TestHelperCLI is the chaostest command when CHAOSTEST_HELPER_CLI is set (a real process for
// tests that need its own stdout).
func TestHelperCLI(t *testing.T) {
	if os.Getenv("CHAOSTEST_HELPER_CLI") != "1" {
		return
	}
	var args []string
	require.NoError(t, json.Unmarshal([]byte(os.Getenv("CHAOSTEST_HELPER_ARGS")), &args))
	os.Exit(run(args, os.Stdout, os.Stderr))
}

func TestRunJournalToDevStdout(t *testing.T) {
	dir := t.TempDir()
	exp := touchExperiment(t, dir, filepath.Join(dir, "ran"))
	args, err := json.Marshal([]string{"run", "--journal-path", "/dev/stdout", exp})
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCLI$")
	cmd.Env = append(os.Environ(), "CHAOSTEST_HELPER_CLI=1", "CHAOSTEST_HELPER_ARGS="+string(args))
	out, err := cmd.Output() // stdout is a pipe
	require.NoError(t, err, string(out))
	i := bytes.Index(out, []byte("{\n  \"chaoslib-version\""))
	require.GreaterOrEqual(t, i, 0, string(out))
	j, err := journal.Parse(out[i:])
	require.NoError(t, err)
	assert.Equal(t, "completed", j.Status)
	assert.Equal(t, "touch", j.Run[0].Name())
}

func TestRunAndValidateHelpExitZero(t *testing.T) {
	for _, args := range [][]string{{"run", "--help"}, {"run", "-h"}, {"validate", "--help"}, {"run", "exp.json", "--help"}} {
		code, out, errs := cli(args...)
		assert.Equal(t, 0, code, args)
		assert.Empty(t, errs, args)
		assert.True(t, strings.HasPrefix(out, "usage: chaostest "+args[0]+" [options] FILE\n"), out)
		if args[0] == "run" {
			assert.Contains(t, out, "-journal-path")
		}
		assert.Contains(t, out, "-max-file-size")
	}
	code, out, errs := cli("run", "--bogus", "exp.json")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "flag provided but not defined: -bogus\nusage: chaostest run [options] FILE\n")
}

func TestHypothesisFrequencyMustBeFinite(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	exp := touchExperiment(t, dir, marker)
	for _, v := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "1e300", "0", "-1"} {
		code, out, errs := cli("run", "--journal-path", filepath.Join(dir, "j.json"), "--hypothesis-frequency", v, exp)
		assert.Equal(t, 2, code, v)
		assert.Contains(t, out+errs, "--hypothesis-frequency must be a positive, finite number of seconds", v)
	}
	assert.NoFileExists(t, marker)
	code, out, errs := cli("run", "--journal-path", filepath.Join(dir, "j.json"), "--hypothesis-frequency", "0.5", exp)
	assert.Equal(t, 0, code, out+errs)
}
