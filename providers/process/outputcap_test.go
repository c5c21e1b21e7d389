package process

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// TestOutputCapped: a real process writing 100 MB to stdout (and 20 MB to stderr) is read to its
// end, only the first 10 MiB of each stream is kept, the cut is recorded in the output and the
// journal, a WARNING is logged, and the heap stays bounded.
func TestOutputCapped(t *testing.T) {
	const big = 100 << 20
	e, err := engine.Parse([]byte(fmt.Sprintf(`{"title": "t", "description": "d", "method": [
	  {"type": "probe", "name": "flood", "timeout": 120, "provider": {"type": "process", "path": "sh", "timeout": 120,
	   "arguments": ["-c", "head -c %d /dev/zero | tr '\\000' a; head -c %d /dev/zero | tr '\\000' b >&2; echo done >&2"]}}]}`, big, 20<<20)), "json")
	require.NoError(t, err)
	var mu sync.Mutex
	var warnings []string
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	j, err := engine.Run(context.Background(), e, engine.Settings{Log: func(l engine.Level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if l == engine.LevelWarning {
			warnings = append(warnings, msg)
		}
	}})
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a 100 MB stdout and a 20 MB stderr: %d MiB allocated in all, heap in use after %d MiB", allocated>>20, after.HeapInuse>>20)
	assert.Less(t, allocated, uint64(96<<20), "the 100 MB must not be held")

	rec := j.Run[0]
	require.Equal(t, journal.RunSucceeded, rec.Status)
	out := rec.Output.(*jsonvalue.Object)
	stdout := out.Value("stdout").(string)
	assert.Len(t, stdout, provider.MaxOutputSize)
	assert.Equal(t, strings.Repeat("a", 16), stdout[:16])
	assert.Len(t, out.Value("stderr").(string), provider.MaxOutputSize, "stderr keeps its first 10 MiB: the final 'done' is cut")
	assert.Equal(t, int64(0), out.Value("status"))
	tr := out.Value(provider.OutputTruncatedKey).(*jsonvalue.Object)
	assert.Equal(t, []string{"stdout", "stderr"}, tr.Keys())
	assert.Equal(t, jsonvalue.NewObject("kept", int64(10<<20), "size", int64(big)), tr.Value("stdout"))
	assert.Equal(t, jsonvalue.NewObject("kept", int64(10<<20), "size", int64(20<<20+5)), tr.Value("stderr"))
	require.Len(t, warnings, 2)
	assert.Equal(t, `The stdout of 'flood' was cut: it is 100 MiB, only its first 10 MiB are kept (chaostest's output cap); the output's "truncated" key records the cut`, warnings[0])
	assert.Contains(t, warnings[1], "The stderr of 'flood' was cut: it is 20 MiB")

	// The journal records it too.
	jp := filepath.Join(t.TempDir(), "journal.json")
	require.NoError(t, journal.Write(jp, j))
	back, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, tr, back.Run[0].Output.(*jsonvalue.Object).Value("truncated"))
}

func TestOutputUnderCapNotMarked(t *testing.T) {
	out, err := run(t, provider.Env{}, provObj(t, `{"type": "process", "path": "sh", "arguments": ["-c", "head -c %d /dev/zero | tr '\\000' a"]}`, provider.MaxOutputSize))
	require.NoError(t, err)
	assert.Len(t, out.Value("stdout").(string), provider.MaxOutputSize)
	assert.False(t, out.Has("truncated"))
}
