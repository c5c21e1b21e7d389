package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// corpusJournals returns the paths of the Chaos Toolkit journals copied from the shared corpus.
// It fails the test when there are none: they are the compatibility check.
func corpusJournals(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", "journals", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("expected the 2 Chaos Toolkit corpus journals under ../testdata/corpus/journals, found %d", len(paths))
	}
	return paths
}

// ownJournals returns the journals kept in ../testdata/journals.
func ownJournals(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "journals", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("expected at least 4 journals under ../testdata/journals, found %d", len(paths))
	}
	return paths
}

func allJournals(t testing.TB) []string {
	return append(corpusJournals(t), ownJournals(t)...)
}

func mustRead(t testing.TB, path string) *Journal {
	t.Helper()
	j, err := Read(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return j
}

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func boolp(b bool) *bool { return &b }
