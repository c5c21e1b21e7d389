package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
)

// hookRecorder is a Go control registered under a module name, so settings and control files
// can name it the way they name a Python control.
type hookRecorder struct {
	engine.NopControl
	mu    sync.Mutex
	hooks []string
}

func (h *hookRecorder) BeforeExperiment(context.Context, *engine.ControlEnv) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, "before-experiment")
	return nil
}

func (h *hookRecorder) BeforeLoadingExperiment(*engine.ControlEnv, string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, "before-loading")
	return nil
}

func (h *hookRecorder) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hooks...)
}

var (
	settingsRecorder = &hookRecorder{}
	fileRecorder     = &hookRecorder{}
)

func init() {
	engine.RegisterControl("chaostest_cli_test.settings_control", func() engine.Control { return settingsRecorder })
	engine.RegisterControl("chaostest_cli_test.file_control", func() engine.Control { return fileRecorder })
}

// rollbackExperiment: a before-hypothesis probe that raises (connection refused on loopback) (so the default rollback strategy
// skips the rollbacks and `always` plays them) and a rollback that creates marker.
func rollbackExperiment(t *testing.T, dir, marker, runtime string) string {
	t.Helper()
	p := filepath.Join(dir, "exp.json")
	extra := ""
	if runtime != "" {
		extra = `, "runtime": ` + runtime
	}
	require.NoError(t, os.WriteFile(p, []byte(`{"title": "t", "description": "d"`+extra+`,
  "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "raises", "tolerance": 0,
    "provider": {"type": "http", "url": "http://127.0.0.1:1/", "timeout": 2}}]},
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [{"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["`+marker+`"]}}]}`), 0o644))
	return p
}

// TestGlobalOptions: chaos's options before the command are accepted, with their meaning.
func TestGlobalOptions(t *testing.T) {
	dir := t.TempDir()
	exp := touchExperiment(t, dir, filepath.Join(dir, "ran"))
	jp := filepath.Join(dir, "j.json")
	noSettings := filepath.Join(dir, "none.yaml")

	code, _, errs := cli("--verbose", "--no-version-check", "--no-log-file", "--settings", noSettings, "run", "--journal-path", jp, exp)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, errs, "DEBUG] Using settings file '"+noSettings+"'")
	assert.Contains(t, errs, "DEBUG] Runtime strategies: hypothesis - default / rollbacks - default")
	code, _, errs = cli("--settings", noSettings, "run", "--journal-path", jp, exp)
	require.Equal(t, 0, code, errs)
	assert.NotContains(t, errs, "DEBUG", "debug lines only with --verbose")

	// --log-format json: every console line is one JSON record
	code, _, errs = cli("--log-format=json", "--settings", noSettings, "run", "--journal-path", jp, exp)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	require.Greater(t, len(lines), 3)
	for _, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		for _, k := range []string{"context_id", "process", "asctime", "levelname", "module", "lineno", "message", "timestamp"} {
			assert.Contains(t, rec, k, l)
		}
	}
	assert.Contains(t, errs, `"message":"Running experiment: t"`)

	// --log-file appends text lines at --log-file-level; the console is unchanged
	logFile := filepath.Join(dir, "run.log")
	code, _, errs = cli("--log-file", logFile, "--log-file-level", "info", "--settings", noSettings, "run", "--journal-path", jp, exp)
	require.Equal(t, 0, code, errs)
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Contains(t, string(b), "INFO] Running experiment: t")
	assert.NotContains(t, string(b), "DEBUG]")
	assert.Contains(t, errs, "INFO] Running experiment: t")
	code, _, _ = cli("--log-file", logFile, "--log-file-level", "warning", "--settings", noSettings, "run", "--journal-path", jp, exp)
	require.Equal(t, 0, code)
	b2, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2), "a completed run logs nothing at WARNING")

	// usage errors: exit 2
	for _, args := range [][]string{
		{"--bogus", "run", exp},
		{"--log-format", "xml", "run", exp},
		{"--log-file-level", "trace", "run", exp},
		{"--settings"},
		{"--verbose=yes", "run", exp},
	} {
		code, _, errs := cli(args...)
		assert.Equal(t, 2, code, "%v: %s", args, errs)
	}
	code, out, _ := cli("--verbose", "--version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, engine.Version)
}

// TestChangeDir: --change-dir moves before the command runs, so relative paths are from there.
func TestChangeDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir()) // restored after the test
	touchExperiment(t, dir, filepath.Join(dir, "ran"))
	code, _, errs := cli("--change-dir", dir, "--settings", filepath.Join(dir, "none"), "run", "exp.json")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, errs, "WARNING] Moving to "+dir)
	assert.FileExists(t, filepath.Join(dir, "journal.json"))
	assert.FileExists(t, filepath.Join(dir, "ran"))
}

// TestSettingsRuntime: the settings' runtime strategies apply unless the experiment has a
// runtime block (then both come from it) or a flag is given, as chaos run's precedence.
func TestSettingsRuntime(t *testing.T) {
	cases := []struct {
		name, runtime string
		flags         []string
		played        bool
	}{
		{"settings always", "", nil, true},
		{"experiment runtime block wins, its omitted rollback strategy is default", `{"hypothesis": {"strategy": "default"}}`, nil, false},
		{"empty runtime block is no block", `{}`, nil, true},
		{"flag wins", "", []string{"--rollback-strategy", "never"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(dir, "rolled-back")
			exp := rollbackExperiment(t, dir, marker, c.runtime)
			settings := filepath.Join(dir, "settings.yaml")
			require.NoError(t, os.WriteFile(settings, []byte("runtime:\n  rollbacks:\n    strategy: always\n"), 0o644))
			args := append([]string{"--settings", settings, "run", "--journal-path", filepath.Join(dir, "j.json")}, c.flags...)
			code, _, errs := cli(append(args, exp)...)
			assert.Equal(t, 1, code, errs)
			j, err := journal.Read(filepath.Join(dir, "j.json"))
			require.NoError(t, err)
			assert.Equal(t, "failed", j.Status)
			if c.played {
				assert.FileExists(t, marker)
			} else {
				assert.NoFileExists(t, marker)
			}
		})
	}
	// an unparsable settings file is logged and ignored, as chaoslib does
	dir := t.TempDir()
	marker := filepath.Join(dir, "rolled-back")
	exp := rollbackExperiment(t, dir, marker, "")
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("runtime: [unclosed\n"), 0o644))
	code, _, errs := cli("--settings", bad, "run", "--journal-path", filepath.Join(dir, "j.json"), exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "ERROR] Failed parsing YAML settings:")
	assert.NoFileExists(t, marker)
}

// TestGlobalControls: controls from the settings and from --control-file are applied, the
// settings' first; a missing control file is a usage error.
func TestGlobalControls(t *testing.T) {
	dir := t.TempDir()
	exp := touchExperiment(t, dir, filepath.Join(dir, "ran"))
	settings := filepath.Join(dir, "settings.yaml")
	require.NoError(t, os.WriteFile(settings, []byte(`controls:
  from-settings:
    provider:
      type: python
      module: chaostest_cli_test.settings_control
`), 0o644))
	ctlJSON := filepath.Join(dir, "controls.json")
	require.NoError(t, os.WriteFile(ctlJSON, []byte(`{"from-file": {"provider": {"type": "python", "module": "chaostest_cli_test.file_control"}}}`), 0o644))
	empty := filepath.Join(dir, "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))

	before1, before2 := len(settingsRecorder.got()), len(fileRecorder.got())
	code, _, errs := cli("--settings", settings, "run", "--journal-path", filepath.Join(dir, "j.json"), "--control-file", ctlJSON, "--control-file", empty, exp)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, []string{"before-loading", "before-experiment"}, settingsRecorder.got()[before1:])
	assert.Equal(t, []string{"before-loading", "before-experiment"}, fileRecorder.got()[before2:])

	code, _, errs = cli("run", "--control-file", filepath.Join(dir, "missing.json"), exp)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "invalid value for '--control-file': path '"+filepath.Join(dir, "missing.json")+"' does not exist")
	badExt := filepath.Join(dir, "controls.txt")
	require.NoError(t, os.WriteFile(badExt, []byte("{}"), 0o644))
	code, _, errs = cli("run", "--journal-path", filepath.Join(dir, "j2.json"), "--control-file", badExt, exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "the file name must end in .json, .yaml or .yml")
}

// TestVarFileErrors: a var file that does not exist is a usage error (exit 2, as click's
// Path(exists=True)); one that cannot be read or parsed is a load error (exit 1). Nothing runs.
func TestVarFileErrors(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	exp := touchExperiment(t, dir, marker)
	code, _, errs := cli("run", "--var-file", filepath.Join(dir, "nope.json"), exp)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "invalid value for '--var-file'")
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"configuration": `), 0o644))
	code, _, errs = cli("run", "--journal-path", filepath.Join(dir, "j.json"), "--var-file", bad, exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "ERROR] var file "+bad)
	assert.NoFileExists(t, marker)
}

// TestFIFOWithoutWriter: an experiment or var file that is a FIFO nobody writes to gives an
// error at once instead of blocking the run forever; a pipe with a writer still reads whole.
func TestFIFOWithoutWriter(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	exp := touchExperiment(t, dir, marker)
	fifo := filepath.Join(dir, "fifo.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, args := range [][]string{
		{"run", "--journal-path", filepath.Join(dir, "j.json"), fifo},
		{"run", "--journal-path", filepath.Join(dir, "j.json"), "--var-file", fifo, exp},
		{"validate", fifo},
	} {
		done := make(chan int, 1)
		var errs string
		go func() {
			var code int
			code, _, errs = cli(args...)
			done <- code
		}()
		select {
		case code := <-done:
			assert.Equal(t, 1, code, "%v: %s", args, errs)
			assert.Contains(t, errs, fifo)
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: still blocked on a FIFO without a writer after 20s", args)
		}
	}
	assert.NoFileExists(t, marker)

	// a FIFO with a writer: the experiment is read to its end. The writer blocks in open until
	// the CLI opens the FIFO; if the CLI came first it reads an empty file, so try a few times.
	content, err := os.ReadFile(exp)
	require.NoError(t, err)
	code := -1
	for attempt := 0; attempt < 5 && code != 0; attempt++ {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = f.Write(content)
		}()
		time.Sleep(200 * time.Millisecond)
		done := make(chan int, 1)
		go func() {
			c, _, _ := cli("run", "--journal-path", filepath.Join(dir, "j.json"), fifo)
			done <- c
		}()
		select {
		case code = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("blocked on a FIFO with a writer")
		}
	}
	assert.Equal(t, 0, code, "the experiment written into the FIFO ran")
	assert.FileExists(t, marker)
}
