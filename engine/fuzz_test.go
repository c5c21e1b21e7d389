package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the JSON and YAML loaders and to validation: they must return
// an experiment or an error, never panic, and a loaded experiment must validate without panicking.
// Seeds: every corpus file. Run with: go test -run '^$' -fuzz FuzzLoad ./engine
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "corpus", "*.*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, strings.HasSuffix(p, ".yaml"))
		}
	}
	f.Add([]byte(`{"title": "${a}", "description": "d", "method": [{"ref": "x"}]}`), false)
	f.Add([]byte("a: &x [1, *x]\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, yaml bool) {
		format := "json"
		if yaml {
			format = "yaml"
		}
		e, err := Parse(data, format)
		if err != nil {
			return
		}
		_ = e.Validate(nil)
		_, _, _ = e.Strategies("", "")
	})
}
