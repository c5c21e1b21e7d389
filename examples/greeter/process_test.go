package greeter

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildBinaries builds the three main packages with CGO_ENABLED=0 into a temporary directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build the example's binaries")
	dir := t.TempDir()
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", dir+string(os.PathSeparator), "./cmd/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "CGO_ENABLED=0 go build ./cmd/...:\n%s", out)
	return dir
}

// syncWriter collects a process's output; safe to read while the process writes.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncWriter
	done chan struct{} // closed once the process has exited and been waited for
}

// start runs binary with env (and nothing else from the test's environment but PATH).
func start(t *testing.T, dir, binary string, env ...string) *proc {
	t.Helper()
	p := &proc{name: binary, out: &syncWriter{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(dir, binary))
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait() // the exit status is read from ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill() // only the process this test started
			<-p.done
		}
	})
	return p
}

// wait returns the process's exit code, failing the test if it runs on for 10 s.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running after 10 s; output:\n%s", p.name, p.out)
		return -1
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	return port
}

// waitLive polls http://127.0.0.1:port/healthz/live until it answers 200 (at most 10 s).
func waitLive(t *testing.T, p *proc, port string) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	for i := 0; i < 100; i++ {
		resp, err := c.Get("http://127.0.0.1:" + port + "/healthz/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before listening; output:\n%s", p.name, p.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s not live on port %s after 10 s; output:\n%s", p.name, port, p.out)
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestBinaries builds the three services once with CGO_ENABLED=0 and runs them as processes.
func TestBinaries(t *testing.T) {
	dir := buildBinaries(t)
	t.Run("static", func(t *testing.T) { testStatic(t, dir) })
	t.Run("processes", func(t *testing.T) { testProcesses(t, dir) })
	t.Run("bad configuration", func(t *testing.T) { testBadConfiguration(t, dir) })
}

// testStatic: the binaries are static (no program interpreter, no dynamic section), so they
// run alone in an image without a base layer.
func testStatic(t *testing.T, dir string) {
	for _, img := range Images() {
		f, err := elf.Open(filepath.Join(dir, img.Name))
		require.NoError(t, err, img.Name)
		for _, prog := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, prog.Type, "%s has a program interpreter; want a static binary", img.Name)
			assert.NotEqual(t, elf.PT_DYNAMIC, prog.Type, "%s is dynamically linked; want a static binary", img.Name)
		}
		f.Close()
	}
}

// testProcesses runs the services as real processes wired the way Kubernetes would wire them
// (webapp finds its peers through the variables injected for greeter-service and name-service)
// and stops them with SIGTERM.
func testProcesses(t *testing.T, dir string) {
	gPort, nPort, wPort := freePort(t), freePort(t), freePort(t)
	greeter := start(t, dir, "greeter", "PORT="+gPort, "READY_AFTER=1h", "POD_IP=127.0.0.1")
	name := start(t, dir, "name", "PORT="+nPort)
	waitLive(t, greeter, gPort)
	waitLive(t, name, nPort)
	webapp := start(t, dir, "webapp", "PORT="+wPort, "WEBAPP_MODE=resilient", "WEBAPP_TIMEOUT=5s",
		"GREETER_SERVICE_SERVICE_HOST=127.0.0.1", "GREETER_SERVICE_SERVICE_PORT="+gPort,
		"NAME_SERVICE_SERVICE_HOST=127.0.0.1", "NAME_SERVICE_SERVICE_PORT="+nPort)
	waitLive(t, webapp, wPort)

	status, body := fetch(t, "http://127.0.0.1:"+wPort+"/?id=2")
	assert.Equal(t, 200, status)
	assert.Equal(t, "Hello Leonard\n", body)
	status, _ = fetch(t, "http://127.0.0.1:"+gPort+"/healthz/ready")
	assert.Equal(t, 503, status, "greeter with READY_AFTER=1h must not be ready")
	_, body = fetch(t, "http://127.0.0.1:"+gPort+"/whoami")
	assert.Equal(t, "127.0.0.1:"+gPort, body)

	// Greeter stops cleanly on SIGTERM; the resilient webapp then answers with the fallback.
	require.NoError(t, greeter.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, greeter.wait(t), "greeter exit code; output:\n%s", greeter.out)
	status, body = fetch(t, "http://127.0.0.1:"+wPort+"/")
	assert.Equal(t, 200, status)
	assert.Equal(t, "Hello Sheldon\n", body)

	for _, p := range []*proc{webapp, name} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.wait(t), "%s exit code; output:\n%s", p.name, p.out)
	}
	for _, p := range []*proc{greeter, name, webapp} {
		assert.Contains(t, p.out.String(), p.name+": shut down cleanly", p.name)
	}
	assert.Regexp(t, `greeter: GET /\?id=2 200|greeter: GET / 200`, greeter.out.String(), "greeter logs its requests")
	assert.Contains(t, greeter.out.String(), "greeter: GET /whoami 200")
	assert.Contains(t, webapp.out.String(), "webapp: mode resilient, greeter http://127.0.0.1:"+gPort)
	assert.Contains(t, webapp.out.String(), `answering with the fallback greeting "Hello"`)
}

// testBadConfiguration: a configuration error exits with code 2 and says why.
func testBadConfiguration(t *testing.T, dir string) {
	for _, tc := range []struct {
		binary string
		env    []string
		want   string
	}{
		{"webapp", []string{"WEBAPP_MODE=sturdy", "GREETER_URL=http://127.0.0.1:1", "NAME_URL=http://127.0.0.1:1"}, `WEBAPP_MODE: want "fragile" or "resilient", got "sturdy"`},
		{"webapp", nil, "greeter: no address for the peer: set GREETER_URL or GREETER_SERVICE_SERVICE_HOST"},
		{"greeter", []string{"READY_AFTER=soon"}, `READY_AFTER: want a non-negative Go duration such as 8s, got "soon"`},
		{"name", []string{"PORT=http"}, `PORT: want a port number from 1 to 65535, got "http"`},
	} {
		p := start(t, dir, tc.binary, tc.env...)
		assert.Equal(t, 2, p.wait(t), "%s %v exit code; output:\n%s", tc.binary, tc.env, p.out)
		assert.Contains(t, p.out.String(), tc.want, fmt.Sprintf("%s %s", tc.binary, strings.Join(tc.env, " ")))
	}
}
