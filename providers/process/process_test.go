package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// provider parses a provider object written as JSON, with fmt verbs filled from args.
func provObj(t testing.TB, format string, args ...any) *jsonvalue.Object {
	t.Helper()
	var o jsonvalue.Object
	require.NoError(t, json.Unmarshal([]byte(fmt.Sprintf(format, args...)), &o))
	return &o
}

// run runs a provider object with env.
func run(t testing.TB, env provider.Env, p *jsonvalue.Object) (*jsonvalue.Object, error) {
	t.Helper()
	out, err := Run(context.Background(), env, p)
	if err != nil {
		require.Nil(t, out, "a failed run must return no output")
		return nil, err
	}
	o, ok := out.(*jsonvalue.Object)
	require.True(t, ok, "output is %T, want *jsonvalue.Object", out)
	return o, nil
}

// writeFile writes an executable (or not) file in dir.
func writeFile(t testing.TB, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
	require.NoError(t, os.Chmod(p, mode))
	return p
}

func TestRegistered(t *testing.T) {
	pt, ok := provider.LookupProviderType("process")
	require.True(t, ok, "the process provider type is not registered")
	assert.Equal(t, "process", pt.Name)
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "probe.sh", "#!/bin/sh\necho ok\n", 0o755)
	writeFile(t, dir, "data.txt", "not a program", 0o644)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	home := t.TempDir()
	writeFile(t, home, "homeprobe", "#!/bin/sh\n", 0o755)
	t.Setenv("HOME", home)

	tests := []struct {
		name, path, want string
	}{
		{"absolute", script, ""},
		{"bare name in PATH", "sh", ""},
		{"tilde expanded", "~/homeprobe", ""},
		{"no path", ``, "a process activity must have a path"},
		{"null path", `null`, "a process activity must have a path"},
		{"not a string", `5`, "a process activity path must be a string, not integer 5, in activity 'check'"},
		{"not found", `"no-such-program-xyz"`, "path 'no-such-program-xyz' cannot be found, in activity 'check'"},
		{"absolute not found", `"/nonexistent/prog"`, "path '/nonexistent/prog' cannot be found, in activity 'check'"},
		// shutil.which only finds executable files, so chaoslib says "cannot be found" here too.
		{"not executable", filepath.Join(dir, "data.txt"), "path '" + filepath.Join(dir, "data.txt") + "' cannot be found, in activity 'check'"},
		{"directory", filepath.Join(dir, "sub"), "path '" + filepath.Join(dir, "sub") + "' cannot be found, in activity 'check'"},
		{"path is not substituted", `"${tool}"`, "path '${tool}' cannot be found, in activity 'check'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := `{"type":"process"}`
			if tt.path != "" {
				p := tt.path
				if !strings.HasPrefix(p, `"`) && p != "null" && p != "5" {
					p = strconv.Quote(p)
				}
				js = `{"type":"process","path":` + p + `}`
			}
			err := Validate(provObj(t, "%s", js), "check")
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestWhich(t *testing.T) {
	dir := t.TempDir()
	prog := writeFile(t, dir, "myprog", "#!/bin/sh\n", 0o755)
	writeFile(t, dir, "plain", "x", 0o644)

	t.Setenv("PATH", "/nonexistent:"+dir)
	assert.Equal(t, prog, which("myprog"))
	assert.Equal(t, "", which("plain"), "a file without x permission is not found")

	t.Setenv("PATH", "")
	assert.Equal(t, "", which("sh"), "an empty PATH finds nothing, as in Python")

	require.NoError(t, os.Unsetenv("PATH"))
	assert.Contains(t, []string{"/bin/sh", "/usr/bin/sh"}, which("sh"), "an unset PATH means /bin:/usr/bin")

	t.Setenv("PATH", ":/nonexistent") // an empty entry is the current directory
	t.Chdir(dir)
	assert.Equal(t, "myprog", which("myprog"))
	assert.Equal(t, "./myprog", which("./myprog"))
	assert.Equal(t, "", which(dir+"/"), "a directory is not a program")
}

func TestExpandUser(t *testing.T) {
	t.Setenv("HOME", "/home/tester/")
	assert.Equal(t, "/home/tester", expandUser("~"))
	assert.Equal(t, "/home/tester/bin/x", expandUser("~/bin/x"))
	assert.Equal(t, "/root/x", expandUser("~root/x"))
	assert.Equal(t, "~no-such-user-xyz/x", expandUser("~no-such-user-xyz/x"))
	assert.Equal(t, "a/~/b", expandUser("a/~/b"))
}

func TestOutput(t *testing.T) {
	t.Setenv("CHAOSTEST_PROBE_VAR", "inherited value")
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		name, provider string
		status         int64
		stdout, stderr string
	}{
		{"true", `{"type":"process","path":"true"}`, 0, "", ""},
		{"false is not an error", `{"type":"process","path":"false"}`, 1, "", ""},
		{"exit code", `{"type":"process","path":"sh","arguments":["-c","exit 3"]}`, 3, "", ""},
		{"killed by a signal: minus the signal", `{"type":"process","path":"sh","arguments":["-c","kill -TERM $$"]}`, -15, "", ""},
		{"list items str()'d, null and empty dropped",
			`{"type":"process","path":"echo","arguments":["hello",1,true,1.0,0,false,null,"","x y",[1,"a"],{"k":null}]}`,
			0, "hello 1 True 1.0 0 False x y [1, 'a'] {'k': None}\n", ""},
		{"string arguments go through the shell", `{"type":"process","path":"echo","arguments":"one 'two  three' | tr a-z A-Z"}`, 0, "ONE TWO  THREE\n", ""},
		{"mapping flattened", `{"type":"process","path":"echo","arguments":{"--name":"x","--flag":null,"-n":1}}`, 0, "--name x --flag -n 1\n", ""},
		{"stderr", `{"type":"process","path":"sh","arguments":["-c","echo out; echo err >&2; exit 2"]}`, 2, "out\n", "err\n"},
		{"environment inherited", `{"type":"process","path":"sh","arguments":["-c","echo $CHAOSTEST_PROBE_VAR"]}`, 0, "inherited value\n", ""},
		{"working directory inherited", `{"type":"process","path":"pwd"}`, 0, dir + "\n", ""},
		{"utf-8 output", `{"type":"process","path":"printf","arguments":["\u00e9t\u00e9"]}`, 0, "été", ""},
		{"latin-1 output", `{"type":"process","path":"printf","arguments":["\\351t\\351"]}`, 0, "été", ""},
		{"stdin is empty", `{"type":"process","path":"cat"}`, 0, "", ""},
		{"boolean timeout is one second", `{"type":"process","path":"true","timeout":true}`, 0, "", ""},
		{"absolute path", `{"type":"process","path":"/bin/sh","arguments":["-c","echo abs"]}`, 0, "abs\n", ""},
		{"empty arguments", `{"type":"process","path":"echo","arguments":[]}`, 0, "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, provider.Env{}, provObj(t, "%s", tt.provider))
			require.NoError(t, err)
			assert.Equal(t, []string{"status", "stdout", "stderr"}, out.Keys())
			assert.Equal(t, tt.status, out.Value("status"))
			assert.Equal(t, tt.stdout, out.Value("stdout"))
			assert.Equal(t, tt.stderr, out.Value("stderr"))
		})
	}
}

func TestCrashes(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, dir, "garbage", "\x00\x01\x02not a program", 0o755)
	tests := []struct {
		name, provider, want string
	}{
		{"null arguments", `{"type":"process","path":"echo","arguments":null}`, "process arguments must be a string, a list or a mapping, not null None"},
		{"number arguments", `{"type":"process","path":"echo","arguments":5}`, "process arguments must be a string, a list or a mapping, not integer 5"},
		{"unsubstituted timeout", `{"type":"process","path":"true","timeout":"${t}"}`, "process timeout must be a number of seconds, not string '${t}'"},
		{"not found", `{"type":"process","path":"no-such-program-xyz"}`, "path 'no-such-program-xyz' cannot be found, in activity 'act'"},
		{"no path", `{"type":"process"}`, "a process activity must have a path, got null None"},
		{"exec format error", fmt.Sprintf(`{"type":"process","path":%q}`, garbage), "fork/exec " + garbage + ": exec format error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, provider.Env{Activity: "act"}, provObj(t, "%s", tt.provider))
			require.Error(t, err)
			var crash *provider.CrashError
			assert.True(t, errors.As(err, &crash), "want a provider.Crash error, got %T: %v", err, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// gone reports whether process pid no longer runs (absent, or a zombie waiting for its reaper).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// waitGone polls (at most 100 times, 20ms apart) until pid is gone.
func waitGone(pid int) bool {
	for range 100 {
		if gone(pid) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestTimeout(t *testing.T) {
	tests := []struct{ name, provider string }{
		{"sleep", `{"type":"process","path":"sleep","arguments":["10"],"timeout":0.2}`},
		{"zero timeout", `{"type":"process","path":"sleep","arguments":["10"],"timeout":0}`},
		{"through the shell", `{"type":"process","path":"sleep","arguments":"10","timeout":0.2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, provider.Env{}, provObj(t, "%s", tt.provider))
			require.Error(t, err)
			var crash *provider.CrashError
			assert.False(t, errors.As(err, &crash), "a timeout is an ActivityFailed, not a crash")
			assert.Equal(t, "process activity took too long to complete", err.Error())
		})
	}

	// A timeout kills the whole process group: the shell's background child dies too.
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, err := run(t, provider.Env{}, provObj(t, `{"type":"process","path":"sh","arguments":["-c","sleep 30 & echo $! > %s; wait"],"timeout":0.3}`, pidFile))
	require.EqualError(t, err, "process activity took too long to complete")
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	assert.True(t, waitGone(pid), "background child %d still runs after the timeout", pid)
}

func TestTimeoutWithEscapedChild(t *testing.T) {
	// A child in a new session keeps the output pipe open after the process exits: the run waits
	// for the pipe like Python's communicate(), until the timeout, and then stops reading.
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, err := run(t, provider.Env{}, provObj(t, `{"type":"process","path":"sh","arguments":["-c","setsid sleep 5 & echo $! > %s"],"timeout":0.3}`, pidFile))
	b, rerr := os.ReadFile(pidFile)
	if rerr == nil {
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL) // the sleep this test started
		}
	}
	require.EqualError(t, err, "process activity took too long to complete")
}

func TestContextCancellation(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Run(ctx, provider.Env{}, provObj(t, `{"type":"process","path":"sh","arguments":"-c 'sleep 30 & echo $! > %s; wait'"}`, pidFile))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "process /bin/sh stopped: context canceled", err.Error())
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	assert.True(t, waitGone(pid), "child %d still runs after cancellation", pid)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, provider.Env{}, provObj(t, `{"type":"process","path":"true"}`))
	assert.ErrorIs(t, err, context.Canceled, "a cancelled context does not start the process")
}

func TestSubstitution(t *testing.T) {
	env := provider.Env{Configuration: map[string]any{
		"n":    int64(42),
		"none": nil,
		"msg":  "hello world",
		"tool": "echo",
		"t":    int64(5),
	}}
	tests := []struct {
		name, provider, stdout string
	}{
		{"list: whole values keep their type, null dropped", `{"type":"process","path":"echo","arguments":["${n}","${none}","x${n}","$msg"]}`, "42 x42 hello world\n"},
		{"string", `{"type":"process","path":"echo","arguments":"${msg} again"}`, "hello world again\n"},
		{"mapping", `{"type":"process","path":"echo","arguments":{"--n":"${n}"}}`, "--n 42\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := provObj(t, "%s", tt.provider)
			before, _ := json.Marshal(p)
			out, err := run(t, env, p)
			require.NoError(t, err)
			assert.Equal(t, tt.stdout, out.Value("stdout"))
			after, _ := json.Marshal(p)
			assert.Equal(t, string(before), string(after), "the provider object must not be changed")
		})
	}

	// Without configuration or secrets, arguments are passed as written.
	out, err := run(t, provider.Env{}, provObj(t, `{"type":"process","path":"echo","arguments":["${n}"]}`))
	require.NoError(t, err)
	assert.Equal(t, "${n}\n", out.Value("stdout"))

	// path and timeout are never substituted.
	_, err = run(t, env, provObj(t, `{"type":"process","path":"${tool}"}`))
	assert.EqualError(t, err, "path '${tool}' cannot be found, in activity ''")
	_, err = run(t, env, provObj(t, `{"type":"process","path":"true","timeout":"${t}"}`))
	assert.EqualError(t, err, "process timeout must be a number of seconds, not string '${t}'")
}
