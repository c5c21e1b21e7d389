package journaltest

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func read(t *testing.T, name string) *journal.Journal {
	t.Helper()
	j, err := journal.Read(filepath.Join("..", "..", "testdata", "journals", name))
	require.NoError(t, err)
	return j
}

func TestMatchSnapshot(t *testing.T) {
	MatchSnapshot(t, read(t, "continuous-deviated.json"))
}

func TestMatchSnapshotIgnoresVolatileParts(t *testing.T) {
	j := read(t, "chaostest-completed.json")
	j.Node = "another-host"
	j.Start = "2030-01-01T00:00:00.000000+00:00"
	j.Run[0].Output = []any{jsonvalue.NewObject("name", "greeter-5b6c7d8f9-q2w4z", "namespace", "default", "uid", "9f4e28ba-2fa1-11d2-883f-0016d3cca400")}
	// The stored snapshot was taken from the journal as it is in testdata.
	MatchSnapshot(t, j)
	want, err := Snapshot(read(t, "chaostest-completed.json"))
	require.NoError(t, err)
	got, err := Snapshot(j)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Error(args ...any) {
	for _, a := range args {
		if s, ok := a.(string); ok {
			r.errors = append(r.errors, s)
		}
	}
}

func (r *recorder) Errorf(format string, args ...any) { r.errors = append(r.errors, format) }

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestMatchSnapshotFailsOnBehaviourChange(t *testing.T) {
	j := read(t, "chaostest-completed.json")
	j.Deviated = true
	j.SteadyStates.After.SteadyStateMet = false
	rec := &recorder{TB: t}
	// The stored snapshot (__snapshots__/TestMatchSnapshotFailsOnBehaviourChange_1.snap.json)
	// is of the unchanged journal: a copy of TestMatchSnapshotIgnoresVolatileParts_1.
	MatchSnapshot(rec, j)
	require.Len(t, rec.errors, 1, "a changed journal must fail the snapshot")
	diff := ansi.ReplaceAllString(rec.errors[0], "")
	assert.Contains(t, diff, `+   "deviated": true,`)
	assert.Contains(t, diff, `-   "deviated": false,`)
}

func TestSnapshotText(t *testing.T) {
	text, err := Snapshot(read(t, "continuous-deviated.json"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(text, "{\n  \"chaoslib-version\": \"<chaoslib-version>\",\n  \"platform\": \"<platform>\",\n  \"node\": \"<node>\","), text[:120])
	assert.Contains(t, text, `"duration": 0`)
	assert.NotContains(t, text, "2026-11-20")
	_, err = Snapshot(&journal.Journal{Run: []*journal.Run{{Output: make(chan int)}}})
	assert.Error(t, err)
}

// The reason this package exists: programs that import journal must not link go-snaps or the
// testing package.
func TestJournalDoesNotLinkTestDependencies(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/chaostest/chaostest/journal").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/chaostest/chaostest/journal")
	for _, d := range deps {
		assert.NotContains(t, d, "go-snaps", "journal must not depend on go-snaps")
		assert.NotEqual(t, "testing", d, "journal must not depend on the testing package")
		assert.NotContains(t, d, "testify")
	}
}
