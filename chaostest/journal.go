package chaostest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaostest/chaostest/journal"
)

// journalPaths returns where Run keeps the journal for this test: only places that still exist
// after the test (go test deletes an artifact directory made without -artifacts).
func (ct *T) journalPaths() []string {
	var paths []string
	if a, ok := ct.tb.(interface{ ArtifactDir() string }); ok && artifactsKept(ct.tb) {
		paths = append(paths, filepath.Join(a.ArtifactDir(), "journal.json"))
	}
	if dir := os.Getenv("CHAOSTEST_JOURNAL_DIR"); dir != "" {
		paths = append(paths, filepath.Join(dir, sanitizeName(ct.tb.Name()), "journal.json"))
	}
	return paths
}

// artifactsKept reports whether tb's ArtifactDir outlives the test: for the testing package's
// own types only with `go test -artifacts`; any other TB is trusted.
func artifactsKept(tb TB) bool {
	switch tb.(type) {
	case *testing.T, *testing.B, *testing.F:
		f := flag.Lookup("test.artifacts")
		return f != nil && f.Value.String() == "true"
	}
	return true
}

// sanitizeName turns a test name into the directory name used under $CHAOSTEST_JOURNAL_DIR.
func sanitizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|', ' ':
			return '_'
		}
		return r
	}, name)
}

func (ct *T) writeJournal(j *journal.Journal) {
	for _, p := range ct.journalPaths() {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			ct.tb.Errorf("chaostest: cannot write the journal: %v", err)
			continue
		}
		if err := journal.Write(p, j); err != nil {
			ct.tb.Errorf("chaostest: cannot write the journal: %v", err)
			continue
		}
		ct.logf("chaostest: journal written to %s", p)
	}
}
