package engine

import (
	"bytes"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

// heapBound is the most a refused hostile input may make the loader allocate in total.
const heapBound = 96 << 20

// measure runs f and returns the bytes allocated meanwhile (runtime.MemStats.TotalAlloc, an upper
// bound of the heap growth) and the heap in use right after.
func measure(f func()) (total, inuse uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.HeapInuse
}

func billionLaughs() string {
	s := "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
	prev := "a"
	for _, n := range "bcdefghi" {
		s += fmt.Sprintf("%c: &%c [%s]\n", n, n, strings.TrimSuffix(strings.Repeat("*"+prev+", ", 9), ", "))
		prev = string(n)
	}
	return s + "title: lol\n"
}

// mergeBomb copies one big mapping into many mappings through merge keys.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("base: &base\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	b.WriteString("copies:\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("  - {<<: *base}\n")
	}
	return b.String()
}

type hostileCase struct {
	name, file, content string
	want                string
}

func hostileCases() []hostileCase {
	big := `{"title": "` + strings.Repeat("a", 50<<20) + `"}`
	return []hostileCase{
		{"50MB", "big.json", big, "too large: 50 MiB, over the file size limit of 16 MiB (raise it with --max-file-size or CHAOSTEST_MAX_FILE_SIZE)"},
		{"json-100k-arrays", "deep.json", strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000), "line 1, column 1001: arrays and objects nest deeper than 1000 levels (the nesting limit)"},
		{"json-100k-objects", "deep.json", strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000), "line 1, column 5001: arrays and objects nest deeper than 1000 levels (the nesting limit)"},
		{"json-deep-under-unknown-key", "deep.json", `{"title": "t",` + "\n" + `"x": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}", "line 2, column 1005: arrays and objects nest deeper than 1000 levels (the nesting limit)"},
		{"yaml-100k-flow", "deep.yaml", strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", "nest deeper than 1000 levels (the nesting limit)"},
		{"yaml-100k-block", "deep.yaml", strings.Repeat("- ", 100_000) + "x\n", "nest deeper than 1000 levels (the nesting limit)"},
		{"yaml-5k-flow", "deep.yaml", "title: t\nx: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", "yaml: line 2: mappings and sequences nest deeper than 1000 levels (the nesting limit)"},
		{"json-8M-values", "wide.json", `{"title": "t", "x": [` + strings.Repeat("1,", 8<<20-20) + `1]}`, "line 1, column 400016: too many values: more than 200000 (the value limit)"},
		{"yaml-8M-values", "wide.yaml", "title: t\nx: [" + strings.Repeat("a,", 8<<20-20) + "a]\n", "yaml: the document may hold more than 200000 values (the value limit)"},
		{"yaml-billion-laughs", "lol.yaml", billionLaughs(), "aliases expand the document by more than 100000 values (the alias expansion limit)"},
		{"yaml-merge-bomb", "merge.yaml", mergeBomb(), "aliases expand the document by more than 100000 values (the alias expansion limit)"},
	}
}

// TestLoadHostileInputBoundedMemory feeds the loaders (experiment file, var file, http source)
// hostile inputs and asserts the error names the limit, is short, and memory stays bounded.
func TestLoadHostileInputBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	for _, c := range hostileCases() {
		path := filepath.Join(dir, c.name+"-"+c.file)
		require.NoError(t, os.WriteFile(path, []byte(c.content), 0o644))
		check := func(t *testing.T, err error, total uint64) {
			t.Helper()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Less(t, len(err.Error()), 400, "the error must not echo the input")
			assert.Less(t, total, uint64(heapBound), "allocated %s", FormatSize(int64(total)))
			t.Logf("%s: allocated %s: %s", c.name, FormatSize(int64(total)), err)
		}
		t.Run(c.name+"/experiment", func(t *testing.T) {
			var err error
			total, _ := measure(func() { _, err = Load(path) })
			check(t, err, total)
			assert.True(t, strings.HasPrefix(err.Error(), path+": "), err.Error())
		})
		t.Run(c.name+"/var-file", func(t *testing.T) {
			var err error
			total, _ := measure(func() { err = (&Vars{}).LoadFile(path) })
			check(t, err, total)
			assert.True(t, strings.HasPrefix(err.Error(), "var file "+path+": "), err.Error())
		})
	}
}

func TestLoadHostileHTTPSource(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			ct := "application/json"
			if strings.HasSuffix(c.file, ".yaml") {
				ct = "application/x-yaml"
			}
			srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				w.Header().Set("Content-Type", ct)
				_, _ = io.Copy(w, strings.NewReader(c.content)) // streamed: no Content-Length
			}))
			defer srv.Close()
			var err error
			total, _ := measure(func() { _, err = Load(srv.URL + "/exp") })
			require.Error(t, err)
			want := c.want
			if c.name == "50MB" {
				want = "too large: more than 16 MiB, over the file size limit of 16 MiB"
			}
			assert.Contains(t, err.Error(), want)
			assert.Less(t, len(err.Error()), 400)
			assert.Less(t, total, uint64(heapBound), "allocated %s", FormatSize(int64(total)))
		})
	}
}

func TestLoadHTTPSourceTooLargeWithContentLength(t *testing.T) {
	body := bytes.Repeat([]byte(" "), 40<<20)
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	_, err := Load(srv.URL)
	require.Error(t, err)
	assert.Equal(t, srv.URL+": too large: 40 MiB, over the file size limit of 16 MiB (raise it with --max-file-size or CHAOSTEST_MAX_FILE_SIZE)", err.Error())
}

func TestLoadFileSizeLimitConfigurable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "exp.json")
	content := `{"title": "` + strings.Repeat("a", 2000) + `", "description": "d"}`
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))

	_, err := LoadWith(path, LoadOptions{MaxFileSize: 1024})
	require.EqualError(t, err, path+": too large: 2 KiB, over the file size limit of 1 KiB (raise it with --max-file-size or CHAOSTEST_MAX_FILE_SIZE)")
	e, err := LoadWith(path, LoadOptions{MaxFileSize: 4096})
	require.NoError(t, err)
	assert.Len(t, e.Title(), 2000)

	t.Setenv(MaxFileSizeEnv, "1k")
	_, err = Load(path)
	require.ErrorContains(t, err, "over the file size limit of 1 KiB")
	require.ErrorContains(t, (&Vars{}).LoadFile(path), "over the file size limit of 1 KiB")
	_, err = LoadWith(path, LoadOptions{MaxFileSize: 1 << 20}) // the option wins over the environment
	require.NoError(t, err)
	t.Setenv(MaxFileSizeEnv, "lots")
	_, err = Load(path)
	require.ErrorContains(t, err, `CHAOSTEST_MAX_FILE_SIZE="lots": invalid size "lots"`)

	// A pipe has no size to check first: the read stops just past the limit.
	t.Setenv(MaxFileSizeEnv, "")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	go func() {
		_, _ = w.Write([]byte(content))
		w.Close()
	}()
	_, err = readLimited(r, 1024, 0)
	require.EqualError(t, err, "too large: more than 1 KiB, over the file size limit of 1 KiB (raise it with --max-file-size or CHAOSTEST_MAX_FILE_SIZE)")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"16MiB": 16 << 20, "512k": 512 << 10, "1048576": 1 << 20, "2 GB": 2 << 30, "7b": 7} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "-1", "1T", "MiB", "9999999999G"} {
		_, err := ParseSize(in)
		assert.Error(t, err, in)
	}
}

func TestLoadActivityLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"title": "many", "description": "d", "method": [`)
	for i := 0; i <= MaxActivities; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type": "action", "name": "a%d", "provider": {"type": "process", "path": "true"}}`, i)
	}
	b.WriteString(`]}`)
	path := filepath.Join(t.TempDir(), "many.json")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	_, err := Load(path)
	require.EqualError(t, err, path+": the experiment declares 10001 activities (method, rollbacks and steady-state probes together), over the limit of 10000")
}

func TestJSONSyntaxErrorLineColumn(t *testing.T) {
	dir := t.TempDir()
	bad := "{\n  \"title\": \"t\",\n  \"x\": tru,\n}"
	path := filepath.Join(dir, "experiment.json")
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	_, err := Load(path)
	require.EqualError(t, err, path+": line 3, column 11: invalid character ',' in literal true (expecting 'e')")

	require.EqualError(t, (&Vars{}).LoadFile(path), "var file "+path+": line 3, column 11: invalid character ',' in literal true (expecting 'e')")

	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, bad)
	}))
	defer srv.Close()
	_, err = Load(srv.URL + "/experiment.json")
	require.EqualError(t, err, srv.URL+"/experiment.json: line 3, column 11: invalid character ',' in literal true (expecting 'e')")

	truncated := filepath.Join(dir, "cut.json")
	require.NoError(t, os.WriteFile(truncated, []byte("{\n  \"title\": \"t\",\n  \"x\": [1, 2"), 0o644))
	_, err = Load(truncated)
	require.EqualError(t, err, truncated+": line 3, column 13: unexpected end of JSON input")
}

// TestDepthLimitSharedByLoaderAndWriter: the deepest experiment the loader accepts runs and its
// journal is written and read back whole.
func TestDepthLimitSharedByLoaderAndWriter(t *testing.T) {
	dir := t.TempDir()
	deep := strings.Repeat("[", MaxDepth-1) + `"bottom"` + strings.Repeat("]", MaxDepth-1)
	path := filepath.Join(dir, "deep.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"title": "deep", "description": "d", "x": `+deep+`,
	  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}]}`), 0o644))
	e, err := Load(path)
	require.NoError(t, err)
	j, err := Run(t.Context(), e, Settings{})
	require.NoError(t, err)
	jp := filepath.Join(dir, "journal.json")
	require.NoError(t, journal.Write(jp, j))
	back, err := journal.Read(jp)
	require.NoError(t, err)
	v := back.Experiment.Value("x")
	for i := 0; i < MaxDepth-1; i++ {
		a, ok := v.([]any)
		require.True(t, ok, "level %d", i)
		v = a[0]
	}
	assert.Equal(t, "bottom", v)

	// One level deeper is refused at load time, before anything runs.
	require.NoError(t, os.WriteFile(path, []byte(`{"title": "deep", "x": [`+deep+`]}`), 0o644))
	_, err = Load(path)
	require.ErrorContains(t, err, "nest deeper than 1000 levels")
}
