// Package journaltest snapshots journals in tests with go-snaps: one line per test,
//
//	journaltest.MatchSnapshot(t, j)
//
// compares the normalised journal (see journal.Normalize), written as journal.json text, with
// the snapshot stored under __snapshots__ beside the test file, and creates it on the first run.
// Update snapshots with UPDATE_SNAPS=true go test ./...; on CI (the CI variable set) a missing
// snapshot fails the test instead of being created.
//
// It is a package of its own so that programs importing journal (the chaostest command, users'
// tools) do not link go-snaps and its dependencies (testing, tidwall/gjson, kr/pretty, ...).
package journaltest

import (
	"testing"

	"github.com/chaostest/chaostest/journal"
	"github.com/gkampitakis/go-snaps/snaps"
)

// snapshotConfig stores each journal as a standalone .json snapshot file, written exactly as
// journal.Encode writes it (no re-sorting of keys, no Go value syntax).
var snapshotConfig = snaps.WithConfig(
	snaps.Ext(".json"),
	snaps.Serializer(func(v any) string { return v.(string) }),
)

// MatchSnapshot fails t when the normalised journal j differs from its stored snapshot, and
// shows the difference. Each call in a test uses its own snapshot file
// (__snapshots__/<TestName>_<n>.snap.json). A journal that cannot be encoded fails the test.
func MatchSnapshot(t testing.TB, j *journal.Journal) {
	t.Helper()
	text, err := Snapshot(j)
	if err != nil {
		t.Errorf("journaltest: cannot snapshot the journal: %v", err)
		return
	}
	snapshotConfig.MatchStandaloneSnapshot(t, text)
}

// Snapshot returns the text MatchSnapshot compares: the normalised journal as journal.json,
// followed by a newline.
func Snapshot(j *journal.Journal) (string, error) {
	b, err := journal.Encode(journal.Normalize(j))
	if err != nil {
		return "", err
	}
	return string(b) + "\n", nil
}
