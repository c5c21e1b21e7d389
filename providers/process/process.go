// Package process implements Chaos Toolkit's built-in "process" provider type, so experiment
// files with {"type": "process", "path": ...} providers run unchanged, and gives Go tests typed
// builders for the same providers:
//
//	process.Command("kubectl", "rollout", "status", "deploy/web").Timeout(time.Minute).Named("rolled-out").Want(0)
//
// Importing the package (even as _) registers the "process" provider type with chaostest.
//
// # Behaviour (chaoslib/provider/process.py)
//
// The provider object is {type, path, arguments?, timeout?}.
//
//   - path is looked up like Python's shutil.which after a leading "~" is expanded: a path with
//     a "/" is used as it is, a bare name is searched in $PATH ("/bin:/usr/bin" when PATH is
//     unset). It is never substituted, nor is timeout; arguments are substituted only when the
//     run has configuration or secrets.
//   - arguments as a string run through the shell: /bin/sh -c "<path> <arguments>".
//   - arguments as a list are passed as they are, each item converted with Python's str()
//     (true becomes "True", 1.0 stays "1.0"); null and "" items are dropped.
//   - arguments as a mapping (deprecated in Chaos Toolkit) are flattened to key1, value1,
//     key2, value2, ... and then filtered like a list.
//   - The process inherits the environment and the working directory. Its standard input is
//     empty (/dev/null) where Python's inherits the caller's.
//   - timeout, in seconds, bounds the run until the process has exited and closed its output.
//
// The output is an ordered object {status, stdout, stderr}. status is the exit code, or minus
// the signal number when a signal ended the process, as Python reports it. The output is taken
// as UTF-8 when it is valid UTF-8 and as Latin-1 otherwise (Chaos Toolkit guesses the charset).
// A non-zero exit is not an error.
//
// Validation expands "~" as running does; chaoslib's validation does not, so Chaos Toolkit
// rejects a "~/bin/tool" path that it would run with --no-validation.
//
// Errors: a timeout fails the activity with "process activity took too long to complete";
// the whole process group is killed (Python kills only the direct child). A process that cannot
// be started (not found, not executable, a bad arguments value) is a provider.Crash error.
// Cancelling the context kills the process group too; the error then wraps ctx.Err().
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/chaostest/chaostest/internal/capped"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// TypeName is the provider type this package registers.
const TypeName = "process"

func init() {
	provider.RegisterProviderType(provider.ProviderType{Name: TypeName, Validate: Validate, Run: Run})
}

// Validate checks a process provider object as chaoslib's validate_process_activity does: it
// must have a path that shutil.which finds, and the file found must be executable. activity is
// the activity's name, quoted in the messages.
func Validate(prov *jsonvalue.Object, activity string) error {
	raw := prov.Value("path")
	if !pystr.Truthy(raw) {
		return errors.New("a process activity must have a path")
	}
	p, ok := raw.(string)
	if !ok {
		return fmt.Errorf("a process activity path must be a string, not %s %s, in activity '%s'", jsonvalue.TypeName(raw), pystr.Repr(raw), activity)
	}
	found := which(expandUser(p))
	if found == "" {
		return fmt.Errorf("path '%s' cannot be found, in activity '%s'", p, activity)
	}
	// which already checks X_OK, so this never fails but on a race; chaoslib has the same check.
	if syscall.Access(found, accessX) != nil {
		return fmt.Errorf("no access permission to '%s', in activity '%s'", p, activity)
	}
	return nil
}

const accessX = 0x1 // X_OK

// Run executes a process provider object and returns {status, stdout, stderr} as an ordered
// *jsonvalue.Object. See the package documentation for the rules and the errors.
func Run(ctx context.Context, env provider.Env, prov *jsonvalue.Object) (any, error) {
	raw := prov.Value("path")
	p, ok := raw.(string)
	if !ok || p == "" {
		return nil, crashf("a process activity must have a path, got %s %s", jsonvalue.TypeName(raw), pystr.Repr(raw))
	}
	args, given := prov.Get("arguments")
	if !given {
		args = []any{}
	}
	if pystr.Truthy(args) && env.HasValues() {
		args = env.Substitute(args)
	}
	timeout, limited, err := parseTimeout(prov.Value("timeout"))
	if err != nil {
		return nil, provider.Crash(err)
	}
	path := which(expandUser(p))
	if path == "" {
		return nil, crashf("path '%s' cannot be found, in activity '%s'", p, env.Activity)
	}
	argv, err := commandLine(path, args)
	if err != nil {
		return nil, provider.Crash(err)
	}
	return execute(ctx, argv, timeout, limited)
}

func crashf(format string, args ...any) error {
	return provider.Crash(fmt.Errorf(format, args...))
}

// commandLine builds the argv Chaos Toolkit would run for arguments.
func commandLine(path string, args any) ([]string, error) {
	var items []any
	switch a := args.(type) {
	case string:
		return []string{"/bin/sh", "-c", path + " " + a}, nil
	case []any:
		items = a
	case *jsonvalue.Object:
		for _, k := range a.Keys() {
			items = append(items, k, a.Value(k))
		}
	default:
		return nil, fmt.Errorf("process arguments must be a string, a list or a mapping, not %s %s", jsonvalue.TypeName(args), pystr.Repr(args))
	}
	argv := []string{path}
	for _, it := range items {
		if it == nil || it == "" {
			continue
		}
		argv = append(argv, pystr.Str(it))
	}
	return argv, nil
}

// parseTimeout reads the provider's timeout in seconds; limited is false when there is none.
func parseTimeout(v any) (d time.Duration, limited bool, err error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case bool: // Python's True is 1
		if x {
			f = 1
		}
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, false, fmt.Errorf("process timeout must be a number of seconds, not %s %s", jsonvalue.TypeName(v), pystr.Repr(v))
	}
	if math.IsNaN(f) || f >= float64(math.MaxInt64/int64(time.Second)) {
		return 0, false, nil
	}
	return time.Duration(f * float64(time.Second)), true, nil
}

// execute runs argv in its own process group and collects its output.
func execute(ctx context.Context, argv []string, timeout time.Duration, limited bool) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("process %s stopped: %w", argv[0], err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, provider.Crash(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, provider.Crash(err)
	}
	cmd := &exec.Cmd{
		Path:        argv[0],
		Args:        argv,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, provider.Crash(err)
	}

	// Read both streams to their end, as Python's communicate() does.
	// Each stream keeps its first capped.Max bytes; the rest is read and counted, not held.
	var stdout, stderr capped.Buffer
	copied := make(chan struct{}, 2)
	for _, s := range []struct {
		dst *capped.Buffer
		src *os.File
	}{{&stdout, outR}, {&stderr, errR}} {
		go func() {
			_, _ = io.Copy(s.dst, s.src)
			copied <- struct{}{}
		}()
	}
	exited := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		werr := cmd.Wait()
		exited <- werr
		<-copied
		<-copied
		close(finished)
	}()

	var expire <-chan time.Time
	if limited {
		if timeout <= 0 {
			timeout = 0
		}
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expire = timer.C
		if timeout == 0 { // already spent, as for Python's communicate(timeout=0)
			expire = closedTimeChan()
		}
	}
	var stopErr error
	select {
	case <-finished:
	case <-expire:
		stopErr = errors.New("process activity took too long to complete")
	case <-ctx.Done():
		stopErr = fmt.Errorf("process %s stopped: %w", argv[0], ctx.Err())
	}
	if stopErr != nil {
		// Kill the whole group (a shell's children too), then stop reading: a process that left
		// the group may still hold the pipes open.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		select {
		case <-finished:
		case <-time.After(200 * time.Millisecond):
			outR.Close()
			errR.Close()
			<-finished
		}
		outR.Close()
		errR.Close()
		return nil, stopErr
	}
	outR.Close()
	errR.Close()
	out := jsonvalue.NewObject(
		"status", int64(exitStatus(cmd.ProcessState)),
		"stdout", decode(stdout.Bytes()),
		"stderr", decode(stderr.Bytes()),
	)
	if stdout.Cut() {
		capped.Record(out, "stdout", len(stdout.Bytes()), stdout.Size())
	}
	if stderr.Cut() {
		capped.Record(out, "stderr", len(stderr.Bytes()), stderr.Size())
	}
	return out, nil
}

func closedTimeChan() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}

// exitStatus is Python's Popen.returncode: the exit code, or -N when signal N ended the process.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

// decode returns b as text: as is when it is valid UTF-8, else read as Latin-1.
func decode(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// expandUser is Python's os.path.expanduser: "~" and "~/..." use $HOME, "~name/..." the home of
// user name; anything else, or an unknown user, is returned unchanged.
func expandUser(p string) string {
	if !strings.HasPrefix(p, "~") {
		return p
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		i = len(p)
	}
	var home string
	if i == 1 {
		home = os.Getenv("HOME")
		if home == "" {
			u, err := user.Current()
			if err != nil {
				return p
			}
			home = u.HomeDir
		}
	} else {
		u, err := user.Lookup(p[1:i])
		if err != nil {
			return p
		}
		home = u.HomeDir
	}
	if home != "/" {
		home = strings.TrimRight(home, "/")
	}
	if home == "" {
		home = "/"
	}
	return home + p[i:]
}

// which is Python's shutil.which(cmd) on POSIX: a name with a directory part is checked as it
// is; a bare name is searched in $PATH (the system default "/bin:/usr/bin" when PATH is unset,
// nothing when it is empty; an empty entry means the current directory). It returns "" when
// nothing executable is found.
func which(cmd string) string {
	dir, file := filepath.Split(cmd)
	var dirs []string
	if dir != "" {
		dirs = []string{strings.TrimSuffix(dir, "/")}
		if dirs[0] == "" {
			dirs[0] = "/"
		}
	} else {
		path, ok := os.LookupEnv("PATH")
		if !ok {
			path = "/bin:/usr/bin"
		}
		if path == "" {
			return ""
		}
		dirs = strings.Split(path, ":")
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		name := file
		if d != "" {
			name = pyJoin(d, file)
		}
		if accessible(name) {
			return name
		}
	}
	return ""
}

// pyJoin is os.path.join(dir, file) for a non-empty dir.
func pyJoin(dir, file string) string {
	if strings.HasPrefix(file, "/") {
		return file
	}
	if strings.HasSuffix(dir, "/") {
		return dir + file
	}
	return dir + "/" + file
}

// accessible is shutil's _access_check with F_OK|X_OK: it exists, is executable for the real
// user and is not a directory.
func accessible(name string) bool {
	st, err := os.Stat(name)
	if err != nil || st.IsDir() {
		return false
	}
	return syscall.Access(name, accessX) == nil
}
