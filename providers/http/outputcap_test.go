package http

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
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

// floodReader yields n bytes of c without holding them.
type floodReader struct {
	n int64
	c byte
}

func (f *floodReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), f.n)
	for i := range p[:k] {
		p[i] = f.c
	}
	f.n -= k
	return int(k), nil
}

// TestOutputCapped: a real loopback server streaming 100 MB (chunked, with a Content-Length, as
// JSON, gzip-compressed) gives a body of the first 10 MiB, the cut recorded in the output and
// logged as a WARNING, and the heap stays bounded.
func TestOutputCapped(t *testing.T) {
	const big = 100 << 20
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.Copy(zw, &floodReader{n: big, c: 'z'})
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		case "/length":
			w.Header().Set("Content-Length", strconv.Itoa(big))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `["`)
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz.Bytes())
			return
		}
		_, _ = io.Copy(w, &floodReader{n: big, c: 'a'})
	}))
	defer srv.Close()
	var acts []string
	for _, p := range []string{"chunked", "length", "json", "gzip"} {
		acts = append(acts, fmt.Sprintf(`{"type": "probe", "name": "%s", "timeout": 60, "provider": {"type": "http", "url": "%s/%s", "timeout": 60}}`, p, srv.URL, p))
	}
	e, err := engine.Parse([]byte(`{"title": "t", "description": "d", "method": [`+strings.Join(acts, ",")+`]}`), "json")
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
	t.Logf("four 100 MB bodies: %d MiB allocated in all, heap in use after %d MiB", allocated>>20, after.HeapInuse>>20)
	assert.Less(t, allocated, uint64(200<<20), "four 100 MB bodies must not be held")

	require.Len(t, j.Run, 4)
	for i, want := range []string{"a", "a", `["`, "z"} {
		rec := j.Run[i]
		require.Equal(t, journal.RunSucceeded, rec.Status, rec.Name())
		out := rec.Output.(*jsonvalue.Object)
		body, ok := out.Value("body").(string)
		require.True(t, ok, "%s: body is %T", rec.Name(), out.Value("body"))
		assert.Len(t, body, provider.MaxOutputSize, rec.Name())
		assert.True(t, strings.HasPrefix(body, want), rec.Name())
		info := out.Value(provider.OutputTruncatedKey).(*jsonvalue.Object).Value("body").(*jsonvalue.Object)
		assert.Equal(t, int64(provider.MaxOutputSize), info.Value("kept"), rec.Name())
		if rec.Name() == "length" {
			assert.Equal(t, int64(big), info.Value("size"))
		} else {
			assert.False(t, info.Has("size"), rec.Name())
		}
	}
	require.Len(t, warnings, 4)
	assert.Equal(t, `The body of 'chunked' was cut: it is more than 10 MiB, only its first 10 MiB are kept (chaostest's output cap); the output's "truncated" key records the cut`, warnings[0])
	assert.Contains(t, warnings[1], "The body of 'length' was cut: it is 100 MiB")
}
