package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaostest/chaostest/journal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ownJournal(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "journals", name))
	require.NoError(t, err)
	return p
}

func corpusJournal(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "corpus", "journals", name))
	require.NoError(t, err)
	return p
}

func runReport(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = reportMain(args, &o, &e)
	return code, o.String(), e.String()
}

func TestReportHTMLToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	a, b := ownJournal(t, "continuous-deviated.json"), corpusJournal(t, "ferkhan-chaos-toolkit.journal.json")
	// Flags may follow the journals.
	code, stdout, stderr := runReport(a, b, "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "wrote html report of 2 journals to "+out+"\n", stdout)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	html := string(data)
	assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"))
	assert.Contains(t, html, "<h1>Comparison of 2 runs</h1>")
	assert.Equal(t, 2, strings.Count(html, `<svg class="timeline"`))
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left beside the report")
}

func TestReportDefaultsToReportHTML(t *testing.T) {
	path := ownJournal(t, "chaostest-completed.json")
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runReport(path)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "wrote html report of 1 journal to report.html\n", stdout)
	_, err := os.Stat(filepath.Join(dir, "report.html"))
	assert.NoError(t, err)
}

func TestReportMarkdown(t *testing.T) {
	path := ownJournal(t, "continuous-deviated.json")
	j, err := journal.Read(path)
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, journal.RenderMarkdown(&want, j))

	code, stdout, stderr := runReport("--format", "markdown", path)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want.String(), stdout, "markdown goes to standard output by default")

	// The format follows a .md output file.
	out := filepath.Join(t.TempDir(), "summary.md")
	code, _, stderr = runReport("-o", out, path)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, want.String(), string(data))

	// Several journals, one after another.
	code, stdout, _ = runReport("--format=md", path, ownJournal(t, "before-not-met.json"))
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count("\n"+stdout, "\n## "), stdout)
	assert.Contains(t, stdout, "\n---\n\n## ❔ completed (inconclusive)")

	// HTML to standard output.
	code, stdout, _ = runReport("-o", "-", path)
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(stdout, "<!DOCTYPE html>"))
}

func TestReportErrors(t *testing.T) {
	path := ownJournal(t, "continuous-deviated.json")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no journal", nil, 2, "expected at least one JOURNAL, got none"},
		{"bad format", []string{"--format", "pdf", path}, 2, `--format must be html or markdown, got "pdf"`},
		{"unknown flag", []string{"--colour", path}, 2, "flag provided but not defined: -colour"},
		{"missing journal", []string{"-o", "-", filepath.Join(t.TempDir(), "none.json")}, 1, "none.json"},
		{"not a journal", []string{"-o", "-", ownJournal(t, "../corpus/01-ctk-check-file-exists.json")}, 1, "not a journal"},
		{"unwritable output", []string{"-o", filepath.Join(t.TempDir(), "no", "dir", "r.html"), path}, 1, "writing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runReport(c.args...)
			assert.Equal(t, c.code, code)
			assert.Contains(t, stderr, c.want)
			assert.Empty(t, stdout)
		})
	}
	code, stdout, _ := runReport("-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "usage: chaostest report JOURNAL...")
}
