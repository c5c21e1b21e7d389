package pybridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

// requirePython fails (never skips) when python3 is missing: the tests need a real interpreter.
func requirePython(t testing.TB) string {
	t.Helper()
	p, err := LookPython()
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): run `sudo hack/setup-python.sh` (it installs Debian's python3) and re-run the tests", err)
	}
	return p
}

func testEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	dir, err := filepath.Abs("../../testdata/python")
	require.NoError(t, err)
	return append(append(os.Environ(), "PYTHONPATH="+dir), extra...)
}

// safeBuffer is a bytes.Buffer safe for the copy goroutine of exec and the test.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newBridge(t testing.TB, extraEnv ...string) (*Bridge, *safeBuffer) {
	t.Helper()
	requirePython(t)
	var stderr safeBuffer
	b := New(Options{Env: testEnv(t, extraEnv...), Stderr: &stderr})
	t.Cleanup(func() { b.Close() })
	return b, &stderr
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// alive reports whether pid names a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("python3 child %d is still alive after %s", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBridgeCallsReuseOneChild(t *testing.T) {
	b, stderr := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	out, err := b.Call(ctx, Call{Module: "mymod", Func: "health", Arguments: jsonvalue.NewObject("service", "web")})
	require.NoError(t, err)
	o, ok := out.(*jsonvalue.Object)
	require.True(t, ok, "output %T", out)
	assert.Equal(t, []string{"service", "replicas", "healthy", "ratio"}, o.Keys())
	assert.Equal(t, "web", o.Value("service"))
	assert.Equal(t, int64(3), o.Value("replicas"))
	assert.Equal(t, true, o.Value("healthy"))
	assert.Equal(t, 1.0, o.Value("ratio"))
	pid := b.PID()
	require.NotZero(t, pid)
	for i := 0; i < 5; i++ {
		_, err := b.Call(ctx, Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", []any{int64(i)})})
		require.NoError(t, err)
	}
	assert.Equal(t, pid, b.PID(), "one long-lived child")
	assert.Equal(t, 1, b.Starts())
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "checking web from mymod") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Contains(t, stderr.String(), "checking web from mymod", "print() goes to stderr")
}

func TestBridgeStdlibJSONDumps(t *testing.T) {
	b, _ := newBridge(t)
	out, err := b.Call(ctxT(t, 20*time.Second), Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", []any{int64(1), int64(2)})})
	require.NoError(t, err)
	assert.Equal(t, "[1, 2]", out)
}

func TestBridgeKeepsPythonTypes(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	for _, tc := range []struct {
		in   any
		want []any
	}{
		{1.0, []any{"float", 1.0}},
		{int64(1), []any{"int", int64(1)}},
		{"x", []any{"str", "x"}},
		{nil, []any{"NoneType", nil}},
		{true, []any{"bool", true}},
		{[]any{int64(1), 2.5}, []any{"list", []any{int64(1), 2.5}}},
	} {
		out, err := b.Call(ctx, Call{Module: "mymod", Func: "typed", Arguments: jsonvalue.NewObject("value", tc.in)})
		require.NoError(t, err)
		assert.Equal(t, tc.want, out, "value %#v", tc.in)
	}
}

func TestBridgeException(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	_, err := b.Call(ctx, Call{Module: "mymod", Func: "boom", Arguments: jsonvalue.NewObject("message", "it broke")})
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "exception", pe.Kind)
	assert.Equal(t, "ValueError", pe.Type)
	assert.Equal(t, "ValueError: it broke", pe.Text)
	require.NotEmpty(t, pe.Lines)
	assert.Equal(t, "Traceback (most recent call last):\n", pe.Lines[0])
	assert.Equal(t, "ValueError: it broke\n", pe.Lines[len(pe.Lines)-1])
	assert.Contains(t, strings.Join(pe.Lines, ""), "mymod.py", "the traceback shows the user's frame")

	_, err = b.Call(ctx, Call{Module: "mymod", Func: "custom_boom"})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "mymod.MyError: custom failure", pe.Text)

	// A bad argument is the function's TypeError, as chaoslib calls func(**arguments) in its try.
	_, err = b.Call(ctx, Call{Module: "mymod", Func: "boom", Arguments: jsonvalue.NewObject("nope", 1)})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "exception", pe.Kind)
	assert.Contains(t, pe.Text, "TypeError: ")
	assert.Contains(t, pe.Text, "unexpected keyword argument 'nope'")

	_, err = b.Call(ctx, Call{Module: "no_such_module_xyz", Func: "f"})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "import", pe.Kind)
	assert.Equal(t, "ModuleNotFoundError: No module named 'no_such_module_xyz'", pe.Text)

	_, err = b.Call(ctx, Call{Module: "mymod", Func: "nope"})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "attribute", pe.Kind)
	assert.Equal(t, 1, b.Starts(), "exceptions do not restart the child")
}

func TestBridgeConfigurationAndSecrets(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	cfg := map[string]any{"url": "http://127.0.0.1", "n": int64(2)}
	out, err := b.Call(ctx, Call{Module: "mymod", Func: "with_config", Arguments: jsonvalue.NewObject("name", "a"),
		Configuration: cfg, Secrets: map[string]any{"token": "s3cret"}})
	require.NoError(t, err)
	o := out.(*jsonvalue.Object)
	assert.Equal(t, jsonvalue.NewObject("n", int64(2), "url", "http://127.0.0.1"), o.Value("configuration"))
	assert.Equal(t, jsonvalue.NewObject("token", "s3cret"), o.Value("secrets"))

	// No secrets on the provider: the function's default is used.
	out, err = b.Call(ctx, Call{Module: "mymod", Func: "with_config", Arguments: jsonvalue.NewObject("name", "a"), Configuration: cfg})
	require.NoError(t, err)
	assert.Nil(t, out.(*jsonvalue.Object).Value("secrets"))

	// A function that does not declare them does not get them.
	out, err = b.Call(ctx, Call{Module: "mymod", Func: "echo", Arguments: jsonvalue.NewObject("x", int64(1)),
		Configuration: cfg, Secrets: map[string]any{"token": "s3cret"}})
	require.NoError(t, err)
	assert.Equal(t, jsonvalue.NewObject("x", int64(1)), out)

	out, err = b.Call(ctx, Call{Module: "mymod", Func: "config_only"})
	require.NoError(t, err)
	assert.Equal(t, []any{}, out, "no configuration: an empty dict")
}

func TestBridgeEncodesLikeChaostoolkit(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	out, err := b.Call(ctx, Call{Module: "mymod", Func: "special"})
	require.NoError(t, err)
	want := jsonvalue.NewObject(
		"when", "2026-12-01T07:30:00+00:00",
		"day", "2026-12-01",
		"amount", "12.50",
		"id", "12345678-1234-5678-1234-567812345678",
		"tuple", []any{int64(1), int64(2)})
	assert.Equal(t, want, out)

	_, err = b.Call(ctx, Call{Module: "mymod", Func: "not_json"})
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "output", pe.Kind)
	assert.Equal(t, "TypeError: Object of type '<class 'set'>' is not JSON serializable", pe.Text)
}

func TestBridgeUserStdoutGoesToStderr(t *testing.T) {
	b, stderr := newBridge(t)
	out, err := b.Call(ctxT(t, 20*time.Second), Call{Module: "mymod", Func: "noisy"})
	require.NoError(t, err)
	assert.Equal(t, "quiet", out)
	// The copy of the child's stderr into the buffer runs on its own: give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "raw fd 1 write") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Contains(t, stderr.String(), "to stdout")
	assert.Contains(t, stderr.String(), "raw fd 1 write")
}

func TestBridgeTimeoutKillsTheCall(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pid")
	b, _ := newBridge(t, "MYMOD_SLOW_MARKER="+marker)
	_, err := b.Ping(ctxT(t, 20*time.Second)) // started before the clock runs
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Call(ctx, Call{Module: "mymod", Func: "slow", Arguments: jsonvalue.NewObject("seconds", int64(30))})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	data, err := os.ReadFile(marker)
	require.NoError(t, err, "the slow call started")
	pid, err := strconv.Atoi(string(data))
	require.NoError(t, err)
	waitGone(t, pid, 5*time.Second)

	// The next call runs in a fresh child.
	out, err := b.Call(ctxT(t, 20*time.Second), Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", "x")})
	require.NoError(t, err)
	assert.Equal(t, `"x"`, out)
	assert.Equal(t, 2, b.Starts())
	assert.NotEqual(t, pid, b.PID())
}

func TestBridgeTimeoutSparesConcurrentCalls(t *testing.T) {
	b, _ := newBridge(t)
	_, err := b.Ping(ctxT(t, 20*time.Second))
	require.NoError(t, err)
	first := b.PID()
	type res struct {
		out any
		err error
	}
	done := make(chan res, 1)
	go func() {
		out, err := b.Call(ctxT(t, 20*time.Second), Call{Module: "mymod", Func: "slow", Arguments: jsonvalue.NewObject("seconds", 1.5)})
		done <- res{out, err}
	}()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = b.Call(ctx, Call{Module: "mymod", Func: "slow", Arguments: jsonvalue.NewObject("seconds", int64(30))})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// New calls go to a new child while the old one finishes the other call.
	out, err := b.Call(ctxT(t, 20*time.Second), Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", int64(5))})
	require.NoError(t, err)
	assert.Equal(t, "5", out)
	assert.NotEqual(t, first, b.PID())
	r := <-done
	require.NoError(t, r.err, "the call in flight was not failed by the other call's timeout")
	assert.Equal(t, "woke up", r.out)
	waitGone(t, first, 5*time.Second)
}

func TestBridgeChildExitsAreFailures(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	_, err := b.Call(ctx, Call{Module: "mymod", Func: "exits"})
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "base", pe.Kind)
	assert.Equal(t, "SystemExit: 3", pe.Text)

	pid := b.PID()
	_, err = b.Call(ctx, Call{Module: "mymod", Func: "crash"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "python3 exited unexpectedly (exit status 7)")
	waitGone(t, pid, 5*time.Second)
	out, err := b.Call(ctx, Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", nil)})
	require.NoError(t, err)
	assert.Equal(t, "null", out)
}

func TestBridgeReplyOverTheLimit(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 60*time.Second)
	pid, err := b.Ping(ctx)
	require.NoError(t, err)
	_, err = b.Call(ctx, Call{Module: "mymod", Func: "big", Arguments: jsonvalue.NewObject("size", int64(MaxReply+1))})
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "more than 10 MiB")
	out, err := b.Call(ctx, Call{Module: "mymod", Func: "big", Arguments: jsonvalue.NewObject("size", int64(5))})
	require.NoError(t, err)
	assert.Equal(t, "xxxxx", out)
	assert.Equal(t, pid, b.PID(), "the child goes on")
}

func TestBridgeCheck(t *testing.T) {
	b, _ := newBridge(t)
	ctx := ctxT(t, 20*time.Second)
	c, err := b.Check(ctx, "json", "dumps", []string{"obj"})
	require.NoError(t, err)
	assert.Equal(t, Check{Importable: true, Found: true}, *c)

	c, err = b.Check(ctx, "no_such_module_xyz", "f", nil)
	require.NoError(t, err)
	assert.False(t, c.Importable)

	c, err = b.Check(ctx, "mymod", "nope", nil)
	require.NoError(t, err)
	assert.Equal(t, Check{Importable: true}, *c)

	c, err = b.Check(ctx, "mymod", "not_a_function", nil)
	require.NoError(t, err)
	assert.False(t, c.Found, "an attribute that is not a function is not found, as in chaoslib")

	c, err = b.Check(ctx, "mymod", "boom", nil)
	require.NoError(t, err)
	assert.Equal(t, "'message'", c.Missing)

	c, err = b.Check(ctx, "mymod", "health", []string{"service", "zone"})
	require.NoError(t, err)
	assert.Equal(t, "'zone'", c.Unexpected)

	// configuration and secrets are injected when declared, so they are never "missing".
	c, err = b.Check(ctx, "mymod", "with_config", []string{"name"})
	require.NoError(t, err)
	assert.Equal(t, Check{Importable: true, Found: true}, *c)

	ok, fns, err := b.Importable(ctx, "mymod", "health", "not_a_function", "nope")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"health"}, fns)
}

func TestBridgeCloseKillsChild(t *testing.T) {
	b, _ := newBridge(t)
	pid, err := b.Ping(ctxT(t, 20*time.Second))
	require.NoError(t, err)
	assert.Equal(t, pid, b.PID())
	require.True(t, alive(pid))
	require.NoError(t, b.Close())
	waitGone(t, pid, 5*time.Second)
	_, err = b.Ping(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}

// TestBridgeHelperProcess is not a test: TestBridgeChildDiesWithParent runs the test binary
// with BRIDGE_HELPER=1 to get a Go process that owns a bridge and can be killed.
func TestBridgeHelperProcess(t *testing.T) {
	if os.Getenv("BRIDGE_HELPER") != "1" {
		return
	}
	b := New(Options{})
	pid, err := b.Ping(context.Background())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", pid)
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestBridgeChildDiesWithParent(t *testing.T) {
	requirePython(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBridgeHelperProcess$")
	cmd.Env = append(os.Environ(), "BRIDGE_HELPER=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var pid int
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pid %d", &pid); err == nil {
			break
		}
	}
	require.NotZero(t, pid, "the helper reported its python3 child")
	require.True(t, alive(pid))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	waitGone(t, pid, 5*time.Second)
}

func TestReadLineBound(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader(`{"id": 12, "result": "`+strings.Repeat("x", 100)+"\"}\nok\n"), 16)
	head, err := readLine(r, 50)
	require.ErrorIs(t, err, ErrTooLarge)
	id, ok := replyID(head)
	assert.True(t, ok)
	assert.Equal(t, int64(12), id)
	next, err := readLine(r, 50)
	require.NoError(t, err)
	assert.Equal(t, "ok\n", string(next), "the long line was read past")
	r = bufio.NewReaderSize(strings.NewReader("abc\n"), 16)
	line, err := readLine(r, 50)
	require.NoError(t, err)
	assert.Equal(t, "abc\n", string(line))
	_, err = readLine(r, 50)
	assert.True(t, errors.Is(err, io.EOF), "end of stream: %v", err)
}

func TestEncodeLine(t *testing.T) {
	line, err := encodeLine(map[string]any{"b": 1.0, "a": jsonvalue.NewObject("z", 2.5, "y", int64(3)), "c": []any{nil, "<"}})
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"z":2.5,"y":3},"b":1.0,"c":[null,"\u003c"]}`+"\n", string(line))
	assert.Equal(t, "1e+21", pyFloat(1e21))
	assert.Equal(t, "NaN", pyFloat(math.NaN()))
}

// BenchmarkBridgeCall measures one round trip through the bridge: json.dumps of a small list.
func BenchmarkBridgeCall(b *testing.B) {
	br, _ := newBridge(b)
	ctx := context.Background()
	call := Call{Module: "json", Func: "dumps", Arguments: jsonvalue.NewObject("obj", []any{int64(1), int64(2)})}
	if _, err := br.Call(ctx, call); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := br.Call(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBridgeStart measures starting a child and its first call.
func BenchmarkBridgeStart(b *testing.B) {
	requirePython(b)
	env := testEnv(b)
	for b.Loop() {
		br := New(Options{Env: env})
		if _, err := br.Ping(context.Background()); err != nil {
			b.Fatal(err)
		}
		br.Close()
	}
}
