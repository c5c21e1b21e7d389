package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInvalidUTF8Refused: an experiment or var file with a byte that is not UTF-8 is refused
// with where it is, in JSON and YAML alike; valid multi-byte text loads.
func TestInvalidUTF8Refused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	_, err := Load(write("bad.json", "{\"title\": \"caf\xe9\",\n \"description\": \"d\", \"method\": []}"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1, column 15: byte 0xe9 is not valid UTF-8")
	_, err = Load(write("bad.yaml", "title: t\ndescription: \"\xff\"\nmethod: []\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2, column 15: byte 0xff is not valid UTF-8")
	e, err := Load(write("good.json", `{"title": "café ☕ 𝄞", "description": "d", "method": []}`))
	require.NoError(t, err)
	assert.Equal(t, "café ☕ 𝄞", e.Title())

	var v Vars
	err = v.LoadFile(write("vars.json", "{\"configuration\": {\"a\": \"\xc3\"}}"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not valid UTF-8")
}
