package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Client calls functions in a helper process, started on the first call and kept for the next
// ones. Its zero value is not usable; see NewClient.
type Client struct {
	find    func() (string, error)
	args    []string
	version string

	mu   sync.Mutex
	proc *process
	// started is the environment and working directory the helper was started with: a
	// function reads them (KUBECONFIG, relative paths) at call time in process, so a change
	// starts a new helper.
	started string
}

// NewClient returns a client that starts the executable find returns, with args (the helper's
// serve command), and expects it to greet with version.
func NewClient(find func() (string, error), version string, args ...string) *Client {
	return &Client{find: find, args: args, version: version}
}

// process is one running helper.
type process struct {
	path  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex

	mu      sync.Mutex
	next    int64
	pending map[int64]chan response
	dead    error // set once the helper is gone
}

// helperExited is the reply pending calls get when the helper is gone.
var helperExited = errors.New("exited")

// start runs the helper and reads its greeting.
func (c *Client) start() (*process, error) {
	path, err := c.find()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, c.args...)
	cmd.Stderr = os.Stderr
	// Its own process group: a Ctrl-C meant for the run reaches the CLI, which cancels the calls
	// (as it cancels an in-process call), rather than killing the helper under them. It dies with
	// the CLI: its stdin closes, and Pdeathsig.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the Kubernetes helper %s: %w", path, err)
	}
	p := &process{path: path, cmd: cmd, stdin: stdin, pending: map[int64]chan response{}}
	dec := json.NewDecoder(stdout)
	var hello response
	if err := dec.Decode(&hello); err != nil || hello.Hello != c.version {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			return nil, fmt.Errorf("the Kubernetes helper %s did not start: %v", path, err)
		}
		return nil, fmt.Errorf("the Kubernetes helper %s is %q, this chaostest is %q: install both from the same source (make build)", path, hello.Hello, c.version)
	}
	go p.read(dec)
	return p, nil
}

// read dispatches the helper's replies to the pending calls until its stdout ends.
func (p *process) read(dec *json.Decoder) {
	var err error
	for {
		var r response
		if err = dec.Decode(&r); err != nil {
			break
		}
		p.mu.Lock()
		ch := p.pending[r.ID]
		p.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	werr := p.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case werr != nil:
		p.dead = fmt.Errorf("the Kubernetes helper %s %w: %v", p.path, helperExited, werr)
	case errors.Is(err, io.EOF):
		p.dead = fmt.Errorf("the Kubernetes helper %s %w", p.path, helperExited)
	default:
		p.dead = fmt.Errorf("the Kubernetes helper %s sent an unreadable reply: %v", p.path, err)
	}
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
}

func (p *process) send(req request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// running returns the helper, starting it when there is none or the last one is gone.
func (c *Client) running() (*process, error) {
	wd, _ := os.Getwd()
	env := wd + "\x00" + strings.Join(os.Environ(), "\x00")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.mu.Lock()
		dead := c.proc.dead
		c.proc.mu.Unlock()
		if dead == nil && env == c.started {
			return c.proc, nil
		}
		if dead == nil {
			_ = c.proc.stdin.Close() // it ends once its calls are answered
		}
	}
	p, err := c.start()
	if err != nil {
		return nil, err
	}
	c.proc, c.started = p, env
	return p, nil
}

// Call runs the function name in the helper with env and args and returns what it returned:
// its output decoded as journal values, its error (a crash stays a crash), or its panic, which
// is raised again here. When ctx ends the helper is told to cancel the call, and its reply is
// still waited for, as for a function that runs in process.
func (c *Client) Call(ctx context.Context, name string, env provider.Env, args map[string]any) (any, error) {
	p, err := c.running()
	if err != nil {
		return nil, err
	}
	req := request{Func: name, Activity: env.Activity, ScopeOrder: env.ScopeOrder}
	if req.Configuration, err = encodeMap(env.Configuration); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if req.Secrets, err = encodeMap(env.Secrets); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if req.AllSecrets, err = encodeMap(env.AllSecrets); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if req.Args, err = encodeMap(args); err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	ch := make(chan response, 16)
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		return nil, p.dead
	}
	p.next++
	req.ID = p.next
	p.pending[req.ID] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, req.ID)
		p.mu.Unlock()
	}()
	if err := p.send(req); err != nil {
		return nil, p.gone(err)
	}
	done := ctx.Done()
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return nil, p.gone(nil)
			}
			if r.Log != nil {
				if env.Logf != nil {
					env.Logf("%s", *r.Log)
				}
				continue
			}
			return reply(r)
		case <-done:
			done = nil // tell it once, then wait for its reply
			_ = p.send(request{ID: req.ID, Cancel: true})
		}
	}
}

// gone returns why the helper cannot answer.
func (p *process) gone(err error) error {
	for range 50 { // the reader notes the exit just after the pipe breaks
		p.mu.Lock()
		dead := p.dead
		p.mu.Unlock()
		if dead != nil {
			return dead
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("the Kubernetes helper %s: %w", p.path, err)
	}
	return fmt.Errorf("the Kubernetes helper %s %w", p.path, helperExited)
}

// reply turns a final reply into the call's result.
func reply(r response) (any, error) {
	switch {
	case r.Panic != nil:
		panic(remotePanic{value: *r.Panic, stack: r.Stack})
	case r.Error != nil:
		var err error = errors.New(*r.Error)
		if len(r.Exception) > 0 {
			err = &exceptionError{msg: *r.Error, lines: r.Exception}
		}
		if r.Crash {
			err = provider.Crash(err)
		}
		return nil, err
	}
	if len(r.Output) == 0 {
		return nil, nil
	}
	return jsonvalue.Decode(r.Output)
}

// remotePanic is a panic of a function in the helper, raised again in the CLI.
type remotePanic struct{ value, stack string }

func (p remotePanic) String() string { return p.value }

// exceptionError carries the exception lines a function's error gave in the helper.
type exceptionError struct {
	msg   string
	lines []string
}

func (e *exceptionError) Error() string { return e.msg }

// ExceptionLines returns the lines the error had in the helper.
func (e *exceptionError) ExceptionLines() []string { return e.lines }
