package journal

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/<name>, rewriting the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./journal -run %s -update", t.Name())
	assert.Equal(t, string(want), string(got), "output differs from %s (rerun with -update if the change is intended)", path)
}

func TestRenderMarkdownGolden(t *testing.T) {
	for _, path := range allJournals(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, RenderMarkdown(&b, mustRead(t, path)))
			golden(t, filepath.Join("markdown", name+".md"), b.Bytes())
		})
	}
}

func TestRenderMarkdownContent(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, RenderMarkdown(&b, readOwn(t, "before-not-met.json")))
	md := b.String()
	assert.True(t, strings.HasPrefix(md, "## ❔ completed (inconclusive) — Service must be up before we break it\n"), md)
	assert.Contains(t, md, "| service-must-be-up | ⚠️ not met (3 ms) | — |")
	assert.Contains(t, md, "| queue-is-empty | — not reached | — |")
	assert.Contains(t, md, "The method did not run.")

	b.Reset()
	require.NoError(t, RenderMarkdown(&b, readOwn(t, "chaostest-completed.json")))
	md = b.String()
	for _, secret := range []string{"hunter2", "s3cr3t-value", "BEGIN KEY"} {
		assert.NotContains(t, md, secret)
	}

	// Table cells with pipes and markup are escaped.
	j := readOwn(t, "before-not-met.json")
	j.Experiment.Set("title", "a | b <script>")
	b.Reset()
	require.NoError(t, RenderMarkdown(&b, j))
	assert.Contains(t, b.String(), "a | b &lt;script&gt;")
	assert.NotContains(t, b.String(), "<script>")

	assert.Error(t, RenderMarkdown(&b, nil))
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestRenderReportsWriteErrors(t *testing.T) {
	j := readOwn(t, "continuous-deviated.json")
	err := RenderMarkdown(&failingWriter{n: 10}, j)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	err = RenderHTML(&failingWriter{n: 10}, j)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
}
