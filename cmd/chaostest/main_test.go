package main

import (
	"bytes"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

func server(t testing.TB, status int) *httptest.Server {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// trivial writes a process + http experiment: the hypothesis calls the URL (tolerance 200) and
// runs `true`; the method runs `true`.
func trivial(t testing.TB, dir string) string {
	p := filepath.Join(dir, "experiment.json")
	require.NoError(t, os.WriteFile(p, []byte(`{
  "title": "trivial", "description": "process and http",
  "configuration": {"url": {"type": "env", "key": "CHAOSTEST_CLI_URL", "default": "http://127.0.0.1:1/"}},
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "http-ok", "tolerance": 200, "provider": {"type": "http", "url": "${url}", "timeout": 3}},
    {"type": "probe", "name": "true-ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
  ]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}`), 0o644))
	return p
}

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	exp := trivial(t, dir)
	ok, bad := server(t, 200), server(t, 500)
	jp := filepath.Join(dir, "j.json")

	code, stdout, out := cli("run", "--journal-path", jp, "--var", "url="+ok.URL, exp)
	require.Equal(t, 0, code, out)
	j, err := journal.Read(jp)
	require.NoError(t, err)
	require.Equal(t, "completed", j.Status)
	require.Contains(t, out, "INFO] Experiment ended with status: completed")
	require.Empty(t, stdout, "chaos run logs to stderr: stdout stays free")

	// Before-hypothesis not met by tolerance: Chaos Toolkit exits 0 (lib#258).
	code, _, _ = cli("run", exp, "--journal-path", jp, "--var", "url="+bad.URL)
	require.Equal(t, 0, code)

	// Deviation: the probe sees 200 before and 500 after the method switched the URL file.
	flip := filepath.Join(dir, "flip.json")
	require.NoError(t, os.WriteFile(flip, []byte(strings.ReplaceAll(`{
  "title": "flip", "description": "d",
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "marker-absent", "tolerance": 1, "provider": {"type": "process", "path": "test", "arguments": ["-e", "DIR/marker"]}}]},
  "method": [{"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["DIR/marker"]}}]
}`, "DIR", dir)), 0o644))
	code, stdout, out = cli("run", "--journal-path", jp, flip)
	require.Equal(t, 1, code, out)
	j, err = journal.Read(jp)
	require.NoError(t, err)
	require.True(t, j.Deviated)
	require.Contains(t, out, "Experiment ended with status: deviated")
	require.Empty(t, stdout)

	// Validation error: exit 1, no journal.
	badExp := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badExp, []byte(`{"title": "x", "method": []}`), 0o644))
	nj := filepath.Join(dir, "none.json")
	code, stdout, out = cli("run", "--journal-path", nj, badExp)
	require.Equal(t, 1, code)
	require.Contains(t, out, "experiment requires a description")
	require.Empty(t, stdout)
	require.NoFileExists(t, nj)

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"run"},
		{"run", "--dry", "everything", exp},
		{"run", "--var", "n:list=1", exp},
		{"run", "--rollback-strategy", "sometimes", exp},
		{"frobnicate"},
		{"run", exp, exp},
	} {
		code, _, _ := cli(args...)
		require.Equal(t, 2, code, "%v", args)
	}
}

func TestRunDryAndStrategiesFlags(t *testing.T) {
	dir := t.TempDir()
	exp := trivial(t, dir)
	jp := filepath.Join(dir, "j.json")
	code, stdout, out := cli("run", "--journal-path", jp, "--dry", "activities", "--hypothesis-strategy", "before-method-only", "--rollback-strategy", "always", exp)
	require.Equal(t, 0, code, out)
	j, err := journal.Read(jp)
	require.NoError(t, err)
	require.Equal(t, "activities", j.Experiment.Value("dry"))
	require.Nil(t, j.SteadyStates.After)
	require.Contains(t, out, "Steady-state strategy: before-method-only")
	require.Contains(t, out, "WARNING] Running experiment with dry activities")
	require.Contains(t, out, "WARNING] Rollbacks were explicitly requested to be played")
	require.Empty(t, stdout)
}

func TestValidateCommand(t *testing.T) {
	code, stdout, out := cli("validate", "../../testdata/corpus/06-ctk-invalid-plan.INVALID.json")
	require.Equal(t, 1, code)
	require.Contains(t, out, "experiment requires a description")
	require.Empty(t, stdout)
	code, stdout, out = cli("validate", trivial(t, t.TempDir()))
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "INFO] Experiment looks valid\n")
	require.Contains(t, out, "experiment syntax and semantic look valid")
	require.Empty(t, stdout, "chaos validate logs to stderr")
}

// BenchmarkRunTrivial runs `chaostest run` in process on a process + http experiment: load,
// validate, two hypothesis checks, the method, the journal write.
func BenchmarkRunTrivial(b *testing.B) {
	dir := b.TempDir()
	exp := trivial(b, dir)
	srv := server(b, 200)
	jp := filepath.Join(dir, "j.json")
	b.ResetTimer()
	for b.Loop() {
		if code := run([]string{"run", "--journal-path", jp, "--var", "url=" + srv.URL, exp}, discard{}, discard{}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkRunTrivialBinary is BenchmarkRunTrivial through the built binary: what a pipeline
// pays per `chaostest run`, process start included.
func BenchmarkRunTrivialBinary(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "chaostest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	exp := trivial(b, dir)
	srv := server(b, 200)
	jp := filepath.Join(dir, "j.json")
	b.ResetTimer()
	for b.Loop() {
		if out, err := exec.Command(bin, "run", "--journal-path", jp, "--var", "url="+srv.URL, exp).CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestProvidersListsEveryK8sName(t *testing.T) {
	code, out, _ := cli("providers")
	require.Equal(t, 0, code)
	for _, want := range []string{
		"chaosk8s.pod.actions.terminate_pods(", "label_selector=null", `mode="fixed"`, "qty=1",
		"chaosk8s.pod.probes.pods_in_phase(", "chaosk8s.probes.microservice_available_and_healthy(",
		"chaosk8s.actions.kill_microservice(", "os.path.exists(path)",
		"chaosk8s.chaosmesh.network.actions.duplicate_packets(", "chaosk8s.chaosmesh.network.actions.corrupt_packets(",
		"chaosk8s.chaosmesh.network.actions.reorder_packets(",
	} {
		require.Contains(t, out, want)
	}
	code, out, _ = cli("providers", "--json", "--prefix", "chaosk8s.pod.actions.terminate_pods")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"name": "chaosk8s.pod.actions.terminate_pods"`)
	require.Contains(t, out, `"type": "action"`)
}
