// Package pybridge runs Python functions for chaostest through one long-lived `python3` child
// process, speaking JSON lines over its stdin and stdout.
//
// The child is started on first use and lives until Close. Requests run concurrently in the
// child (one thread each). A call whose context ends is stopped by killing the child and its
// process group; the next request starts a fresh child. When a call is stopped while other calls
// are in flight in the same child, that child is retired instead: it takes no new requests and is
// killed as soon as the calls still in flight return, so they are not failed by someone else's
// timeout. The child also dies when the Go process dies (Linux: Pdeathsig), and exits on its own
// when its stdin closes.
//
// Inside the child the user's code prints to stderr: the protocol keeps the original stdout to
// itself.
package pybridge

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/internal/capped"
	"github.com/chaostest/chaostest/jsonvalue"
)

//go:embed bridge.py
var script string

// launcher runs the script given as its first argument under the file name ScriptName.
const launcher = "import sys; src = sys.argv.pop(1); exec(compile(src, '" + ScriptName + "', 'exec'))"

// ScriptName is the file name the bridge's own frames carry in Python tracebacks.
const ScriptName = "<chaostest python bridge>"

// MaxReply bounds one reply line from the child (a function's encoded return value and its
// envelope), as the http and process providers bound their outputs (internal/capped). A larger
// reply is read past and dropped, and fails its call with ErrTooLarge; the child goes on.
const MaxReply = capped.Max

// ErrTooLarge fails a call whose reply is larger than MaxReply.
var ErrTooLarge = fmt.Errorf("the return value encodes to more than %d MiB as JSON (chaostest's output limit)", MaxReply>>20)

// LookPython returns the path of `python3` on PATH, or an error when there is none.
func LookPython() (string, error) {
	return exec.LookPath("python3")
}

// Options configures a Bridge.
type Options struct {
	// Python is the interpreter to run; "" looks `python3` up on PATH when the child starts.
	Python string
	// Stderr receives the child's stderr, including what the user's code prints. Nil means
	// os.Stderr.
	Stderr io.Writer
	// Env is the child's environment; nil inherits this process's.
	Env []string
}

// Bridge runs Python functions in a child process. Its methods are safe for concurrent use.
type Bridge struct {
	opts Options

	mu     sync.Mutex
	cur    *proc // the child taking new requests; nil before the first or after a stop
	all    map[*proc]bool
	nextID int64
	closed bool
	starts int
}

// New returns a bridge; the child starts with the first request.
func New(opts Options) *Bridge {
	return &Bridge{opts: opts, all: map[*proc]bool{}}
}

// ErrClosed is returned by requests made after Close.
var ErrClosed = errors.New("pybridge: the Python bridge is closed")

// Error is a failure reported by the child.
type Error struct {
	// Kind is "exception" (the function raised an Exception), "base" (it raised a BaseException
	// such as SystemExit), "output" (its return value cannot be encoded as JSON), "import" (the
	// module cannot be imported), "attribute" (the module has no such attribute) or "protocol".
	Kind string
	// Type is the exception's class name ("ValueError").
	Type string
	// Text is the exception as traceback.format_exception_only writes its first line, stripped:
	// "ValueError: boom".
	Text string
	// Lines is traceback.format_exception of the exception, with its traceback.
	Lines []string
	// Message is str() of the exception.
	Message string
	// Interrupt is true for an exception of a class named InterruptExecution (chaoslib's).
	Interrupt bool
}

func (e *Error) Error() string { return e.Text }

// Call describes one function call.
type Call struct {
	// Module and Func name the function ("json", "dumps").
	Module, Func string
	// Arguments are the keyword arguments, as JSON values (substitution already applied).
	Arguments any
	// Configuration is passed as `configuration` when the function declares that parameter.
	Configuration any
	// Secrets, when not nil, is passed as `secrets` when the function declares that parameter.
	Secrets any
	// Extra holds more keyword arguments, each passed only when the function declares it.
	Extra map[string]any
}

// Check is the result of checking a function the way chaoslib validates a Python activity.
type Check struct {
	// Importable is false when importing the module raised ImportError; ImportError is its text.
	Importable  bool   `json:"importable"`
	ImportError string `json:"error"`
	// Found is false when the module has no function (or builtin) of that name.
	Found bool `json:"found"`
	// Missing names a required argument that was not given, quoted as Python quotes it ("'x'").
	Missing string `json:"missing"`
	// Unexpected names a given argument that is not part of the signature, quoted ("'y'").
	Unexpected string `json:"unexpected"`
	// Signature holds any other binding or signature error.
	Signature string `json:"signature"`
}

// Check imports module and binds argument names to the function's signature as chaoslib's
// validate_python_activity does (with `secrets` and `configuration` added when declared).
func (b *Bridge) Check(ctx context.Context, module, fn string, argNames []string) (*Check, error) {
	if argNames == nil {
		argNames = []string{}
	}
	raw, err := b.request(ctx, map[string]any{"op": "check", "module": module, "func": fn, "arguments": argNames})
	if err != nil {
		return nil, err
	}
	var c Check
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("pybridge: bad check reply %s: %w", truncate(raw), err)
	}
	return &c, nil
}

// Importable reports whether module can be imported, and which of names are callable attributes
// of it.
func (b *Bridge) Importable(ctx context.Context, module string, names ...string) (bool, []string, error) {
	if names == nil {
		names = []string{}
	}
	raw, err := b.request(ctx, map[string]any{"op": "import", "module": module, "names": names})
	if err != nil {
		return false, nil, err
	}
	var r struct {
		Importable bool     `json:"importable"`
		Functions  []string `json:"functions"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, nil, fmt.Errorf("pybridge: bad import reply %s: %w", truncate(raw), err)
	}
	return r.Importable, r.Functions, nil
}

// Call calls a function and returns its return value as a JSON value with journal conventions
// (*jsonvalue.Object, int64, float64, string, bool, []any, nil). A Python exception is an *Error.
// When ctx ends first the call is stopped by killing the child.
func (b *Bridge) Call(ctx context.Context, c Call) (any, error) {
	req := map[string]any{"op": "call", "module": c.Module, "func": c.Func, "arguments": c.Arguments,
		"configuration": c.Configuration, "secrets": c.Secrets}
	if c.Extra != nil {
		req["extra"] = c.Extra
	}
	raw, err := b.request(ctx, req)
	if err != nil {
		return nil, err
	}
	v, err := jsonvalue.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("pybridge: the return value of %s.%s is not valid JSON: %w", c.Module, c.Func, err)
	}
	return v, nil
}

// Hook describes a call of a control hook (chaoslib's apply_python_control and friends).
type Hook struct {
	// Module and Func name the hook ("mycontrols", "before_activity_control"). A module without
	// that function is not an error: the hook is not called.
	Module, Func string
	// Arguments are the control's provider arguments.
	Arguments any
	// Always holds keyword arguments passed whatever the signature (context).
	Always map[string]any
	// Extra holds keyword arguments passed when the hook declares them (state, experiment,
	// configuration, secrets, settings). "extensions" is taken from the experiment.
	Extra map[string]any
	// ContextIsExperiment makes the `experiment` argument the same object as `context`.
	ContextIsExperiment bool
	// Positional are positional arguments (validate_control takes the control so).
	Positional []any
}

// HookResult is what a hook call gave.
type HookResult struct {
	// Called is false when the module does not define the hook.
	Called bool
	// Result is the hook's return value.
	Result any
	// Passed holds, for each of "context", "state" and "experiment" that was passed, its value as
	// the hook left it (hooks change what they receive in place).
	Passed map[string]any
}

// Hook calls a control hook. A Python exception is an *Error (Interrupt tells chaoslib's
// InterruptExecution apart).
func (b *Bridge) Hook(ctx context.Context, h Hook) (*HookResult, error) {
	req := map[string]any{"op": "control", "module": h.Module, "func": h.Func, "arguments": h.Arguments,
		"always": h.Always, "extra": h.Extra, "context_is_experiment": h.ContextIsExperiment,
		"positional": h.Positional}
	raw, err := b.request(ctx, req)
	if err != nil {
		return nil, err
	}
	v, err := jsonvalue.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("pybridge: the reply of %s.%s is not valid JSON: %w", h.Module, h.Func, err)
	}
	o, ok := v.(*jsonvalue.Object)
	if !ok {
		return nil, fmt.Errorf("pybridge: bad hook reply %s", truncate(raw))
	}
	res := &HookResult{Passed: map[string]any{}}
	res.Called, _ = o.Value("called").(bool)
	res.Result = o.Value("result")
	for _, k := range []string{"context", "state", "experiment"} {
		if x, ok := o.Get(k); ok {
			res.Passed[k] = x
		}
	}
	return res, nil
}

// Ping starts the child if needed and returns its process id.
func (b *Bridge) Ping(ctx context.Context) (int, error) {
	raw, err := b.request(ctx, map[string]any{"op": "ping"})
	if err != nil {
		return 0, err
	}
	var r struct {
		PID int `json:"pid"`
	}
	err = json.Unmarshal(raw, &r)
	return r.PID, err
}

// PID returns the process id of the child taking new requests, or 0 when none runs.
func (b *Bridge) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		return 0
	}
	return b.cur.cmd.Process.Pid
}

// Starts returns how many children this bridge has started.
func (b *Bridge) Starts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts
}

// Close kills every child of the bridge and waits for them. Later requests fail with ErrClosed.
func (b *Bridge) Close() error {
	b.mu.Lock()
	b.closed = true
	procs := make([]*proc, 0, len(b.all))
	for p := range b.all {
		procs = append(procs, p)
	}
	b.cur = nil
	b.mu.Unlock()
	for _, p := range procs {
		p.kill(ErrClosed)
		<-p.exited
	}
	return nil
}

// proc is one child process.
type proc struct {
	b      *Bridge
	cmd    *exec.Cmd
	stdin  *os.File
	exited chan struct{} // closed once the child is reaped and the reader is done

	wmu      sync.Mutex // one writer at a time, so request lines do not interleave
	mu       sync.Mutex
	inflight map[int64]chan reply
	retired  bool  // takes no new requests; killed when inflight empties
	dead     error // set once the child is gone: why
	killed   bool
}

type reply struct {
	raw json.RawMessage
	err error
}

type envelope struct {
	ID     *int64          `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind      string   `json:"kind"`
		Type      string   `json:"type"`
		Text      string   `json:"text"`
		Lines     []string `json:"lines"`
		Message   string   `json:"message"`
		Interrupt bool     `json:"interrupt"`
	} `json:"error"`
}

func (b *Bridge) request(ctx context.Context, req map[string]any) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.proc()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.mu.Unlock()
	req["id"] = id
	line, err := encodeLine(req)
	if err != nil {
		return nil, fmt.Errorf("pybridge: cannot encode the request: %w", err)
	}
	ch := make(chan reply, 1)
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		return nil, p.dead
	}
	p.inflight[id] = ch
	p.mu.Unlock()
	p.wmu.Lock()
	_, werr := p.stdin.Write(line)
	p.wmu.Unlock()
	if werr != nil {
		p.forget(id)
		p.kill(fmt.Errorf("pybridge: cannot write to python3: %w", werr))
		return nil, p.deathErr()
	}
	select {
	case r := <-ch:
		return r.raw, r.err
	case <-ctx.Done():
		p.stop(id)
		return nil, fmt.Errorf("the Python call was stopped (python3 killed): %w", context.Cause(ctx))
	}
}

// proc returns the child taking new requests, starting one when there is none.
func (b *Bridge) proc() (*proc, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if b.cur != nil {
		b.cur.mu.Lock()
		usable := b.cur.dead == nil && !b.cur.retired
		b.cur.mu.Unlock()
		if usable {
			return b.cur, nil
		}
		b.cur = nil
	}
	p, err := b.start()
	if err != nil {
		return nil, err
	}
	b.cur = p
	b.all[p] = true
	b.starts++
	return p, nil
}

// start starts a child. The caller holds b.mu.
func (b *Bridge) start() (*proc, error) {
	python := b.opts.Python
	if python == "" {
		var err error
		if python, err = LookPython(); err != nil {
			return nil, fmt.Errorf("pybridge: %w", err)
		}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	// The script is compiled under a name of its own, so its frames read well in tracebacks.
	cmd := exec.Command(python, "-c", launcher, script)
	cmd.Stdin, cmd.Stdout = inR, outW
	cmd.Stderr = b.opts.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.Env = b.opts.Env
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	p := &proc{b: b, cmd: cmd, stdin: inW, exited: make(chan struct{}), inflight: map[int64]chan reply{}}
	// Pdeathsig fires when the thread that started the child exits, so that thread is kept for
	// the child's whole life: the goroutine below stays locked to it until the child is reaped.
	started := make(chan error, 1)
	waited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		waited <- cmd.Wait()
		runtime.UnlockOSThread()
	}()
	err = <-started
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("pybridge: cannot start %s: %w", python, err)
	}
	go p.read(outR, waited)
	return p, nil
}

// read dispatches replies until the child's stdout closes, then reaps the child and fails
// whatever is still in flight.
func (p *proc) read(out *os.File, waited <-chan error) {
	defer out.Close()
	r := bufio.NewReaderSize(out, 64<<10)
	var readErr error
	for {
		line, err := readLine(r, MaxReply)
		if errors.Is(err, ErrTooLarge) {
			// line holds the reply's start: {"id": N, ...
			if id, ok := replyID(line); ok {
				p.deliver(id, reply{err: ErrTooLarge})
				continue
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		var env envelope
		if err := json.Unmarshal(line, &env); err != nil || env.ID == nil {
			readErr = fmt.Errorf("pybridge: python3 wrote a line that is not a reply: %s", truncate(line))
			break
		}
		rep := reply{raw: env.Result}
		if env.Error != nil {
			e := env.Error
			rep = reply{err: &Error{Kind: e.Kind, Type: e.Type, Text: e.Text, Lines: e.Lines, Message: e.Message, Interrupt: e.Interrupt}}
		}
		p.deliver(*env.ID, rep)
	}
	if readErr != nil {
		p.kill(readErr)
	}
	// Stdout is closed: the child is exiting or has exited; make sure, and reap it.
	p.kill(nil)
	werr := <-waited
	p.mu.Lock()
	if p.dead == nil {
		p.dead = fmt.Errorf("pybridge: python3 exited unexpectedly (%v)", exitText(werr))
	}
	dead := p.dead
	pending := p.inflight
	p.inflight = map[int64]chan reply{}
	p.mu.Unlock()
	for _, ch := range pending {
		ch <- reply{err: dead}
	}
	p.stdin.Close()
	p.b.mu.Lock()
	delete(p.b.all, p)
	if p.b.cur == p {
		p.b.cur = nil
	}
	p.b.mu.Unlock()
	close(p.exited)
}

func (p *proc) deliver(id int64, rep reply) {
	p.mu.Lock()
	ch, ok := p.inflight[id]
	delete(p.inflight, id)
	idle := p.retired && len(p.inflight) == 0
	p.mu.Unlock()
	if ok {
		ch <- rep
	}
	if idle {
		p.kill(errors.New("pybridge: retired child stopped"))
	}
}

func (p *proc) forget(id int64) {
	p.mu.Lock()
	delete(p.inflight, id)
	p.mu.Unlock()
}

// stop abandons call id: the child is killed now when nothing else runs in it, else retired.
func (p *proc) stop(id int64) {
	p.mu.Lock()
	delete(p.inflight, id)
	p.retired = true
	idle := len(p.inflight) == 0
	p.mu.Unlock()
	p.b.mu.Lock()
	if p.b.cur == p {
		p.b.cur = nil
	}
	p.b.mu.Unlock()
	if idle {
		p.kill(errors.New("pybridge: python3 was killed to stop a call"))
	}
}

// kill kills the child's process group once; why (when not nil) is what pending requests get.
func (p *proc) kill(why error) {
	p.mu.Lock()
	if why != nil && p.dead == nil {
		p.dead = why
	}
	if p.killed {
		p.mu.Unlock()
		return
	}
	p.killed = true
	p.mu.Unlock()
	killGroup(p.cmd.Process)
}

func (p *proc) deathErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return p.dead
	}
	return errors.New("pybridge: python3 is gone")
}

// readLine reads one '\n'-terminated line of at most max bytes. A longer line is read to its
// end and dropped: readLine then returns its first bytes with ErrTooLarge.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			head := append(buf, chunk...)
			head = append([]byte(nil), head[:min(len(head), 64)]...)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return head, ErrTooLarge
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// replyID reads N from the start of a reply line, `{"id": N, ...`.
func replyID(head []byte) (int64, bool) {
	rest, ok := bytes.CutPrefix(head, []byte(`{"id": `))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return id, err == nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func truncate(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
