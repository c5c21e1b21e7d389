package journal

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckDestination(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "missing", "j.json"), filepath.Join(dir, "dangling.json")))
	require.NoError(t, os.Symlink(dir, filepath.Join(dir, "dirlink")))

	bad := map[string]string{
		"":                                      "the journal path is empty",
		dir:                                     "cannot write the journal to " + dir + ": it is a directory",
		filepath.Join(dir, "dirlink"):           "cannot write the journal to " + filepath.Join(dir, "dirlink") + ": it is a directory",
		filepath.Join(dir, "missing", "j.json"): "cannot write the journal to " + filepath.Join(dir, "missing", "j.json") + ": the directory " + filepath.Join(dir, "missing") + " does not exist",
		filepath.Join(dir, "dangling.json"):     "the directory " + filepath.Join(dir, "missing") + " does not exist",
		filepath.Join(file, "j.json"):           "cannot write the journal to " + filepath.Join(file, "j.json") + ": " + file + " is not a directory",
		// sysfs refuses new files even to root: a read-only directory.
		"/sys/journal.json": "cannot write the journal to /sys/journal.json: cannot create a file in /sys: permission denied",
	}
	if os.Geteuid() != 0 { // root ignores permission bits; /sys above covers it
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o555))
		bad[filepath.Join(ro, "j.json")] = "cannot create a file in " + ro + ": permission denied"
	}
	for path, want := range bad {
		err := CheckDestination(path)
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), want)
	}
	for _, path := range []string{filepath.Join(dir, "new.json"), file, "/dev/null", "/dev/stdout"} {
		assert.NoError(t, CheckDestination(path), path)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "the check leaves no file behind")
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "exp.json")
	require.NoError(t, os.WriteFile(a, []byte("{}"), 0o644))
	require.NoError(t, os.Symlink("exp.json", filepath.Join(dir, "link.json")))
	require.NoError(t, os.Link(a, filepath.Join(dir, "hard.json")))
	assert.True(t, SameFile(a, filepath.Join(dir, ".", "exp.json")))
	assert.True(t, SameFile(a, filepath.Join(dir, "link.json")))
	assert.True(t, SameFile(a, filepath.Join(dir, "hard.json")))
	assert.False(t, SameFile(a, filepath.Join(dir, "other.json")))
}

// TestWriteThroughSymlinkKeepsLinkAndMode: the link's target is replaced (atomically, no
// temporary file left), the link stays a link and the target keeps its mode.
func TestWriteThroughSymlinkKeepsLinkAndMode(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "journals")
	require.NoError(t, os.Mkdir(sub, 0o755))
	target := filepath.Join(sub, "real.json")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o600))
	link := filepath.Join(dir, "journal.json")
	require.NoError(t, os.Symlink("journals/real.json", link))
	j := mustRead(t, filepath.Join("..", "testdata", "journals", "before-not-met.json"))
	want, err := Encode(j)
	require.NoError(t, err)

	require.NoError(t, Write(link, j))
	lst, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, lst.Mode()&os.ModeSymlink, "the link must stay a link")
	assert.Equal(t, want, mustReadFile(t, target))
	st, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	for _, d := range []string{dir, sub} {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		assert.Len(t, entries, 1+btoi(d == dir), "no temporary file left in %s", d)
	}

	// A dangling link gets its target created.
	dangling := filepath.Join(dir, "next.json")
	require.NoError(t, os.Symlink("journals/next-real.json", dangling))
	require.NoError(t, Write(dangling, j))
	assert.Equal(t, want, mustReadFile(t, filepath.Join(sub, "next-real.json")))
	lst, err = os.Lstat(dangling)
	require.NoError(t, err)
	assert.NotZero(t, lst.Mode()&os.ModeSymlink)

	// An existing file keeps its mode when written directly too.
	plain := filepath.Join(dir, "plain.json")
	require.NoError(t, os.WriteFile(plain, []byte("old"), 0o640))
	require.NoError(t, Write(plain, j))
	st, err = os.Stat(plain)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

	require.ErrorContains(t, Write("", j), "the journal path is empty")
	require.ErrorContains(t, Write(sub, j), "it is a directory")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWriteToNamedPipe: a pipe (as /dev/stdout is under a shell pipeline) is written to, not
// replaced.
func TestWriteToNamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "journal.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	j := mustRead(t, filepath.Join("..", "testdata", "journals", "before-not-met.json"))
	want, err := Encode(j)
	require.NoError(t, err)
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	require.NoError(t, CheckDestination(fifo))
	require.NoError(t, Write(fifo, j))
	assert.True(t, bytes.Equal(want, <-got))
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeNamedPipe, "the pipe stays a pipe")
}
