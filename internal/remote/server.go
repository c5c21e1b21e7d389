package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/chaostest/chaostest/provider"
)

// lineWriter writes one JSON object per line, whole, from several goroutines.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (lw *lineWriter) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(response{Error: ptr("chaostest-k8s: cannot encode the reply: " + err.Error())})
	}
	b = append(b, '\n')
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err == nil {
		_, lw.err = lw.w.Write(b)
	}
}

func ptr(s string) *string { return &s }

// Serve answers calls read from in with the functions of this process's registry, writing the
// replies to out, until in ends (the CLI exited) or cannot be read. Calls still running then are
// cancelled and waited for. version is sent first, so the CLI can refuse a helper of another
// version.
func Serve(in io.Reader, out io.Writer, version string) error {
	w := &lineWriter{w: out}
	w.send(response{Hello: version})
	var (
		mu      sync.Mutex
		cancels = map[int64]context.CancelFunc{}
		wg      sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for _, c := range cancels {
			c()
		}
		mu.Unlock()
		wg.Wait()
	}()
	dec := json.NewDecoder(in)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("chaostest-k8s: reading a call: %w", err)
		}
		if req.Cancel {
			mu.Lock()
			if c := cancels[req.ID]; c != nil {
				c()
			}
			mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		mu.Lock()
		cancels[req.ID] = cancel
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.send(serveCall(ctx, req, w))
			mu.Lock()
			delete(cancels, req.ID)
			mu.Unlock()
			cancel()
		}()
	}
}

// serveCall runs one call and returns its reply.
func serveCall(ctx context.Context, req request, w *lineWriter) (resp response) {
	resp.ID = req.ID
	fail := func(err error) response {
		resp.Error = ptr(err.Error())
		return resp
	}
	f, ok := provider.LookupFunc(req.Func)
	if !ok {
		return fail(fmt.Errorf("chaostest-k8s does not implement %s", req.Func))
	}
	env := provider.Env{Activity: req.Activity, ScopeOrder: req.ScopeOrder}
	var err error
	if env.Configuration, err = decodeMap(req.Configuration); err != nil {
		return fail(fmt.Errorf("chaostest-k8s: configuration: %w", err))
	}
	if env.Secrets, err = decodeMap(req.Secrets); err != nil {
		return fail(fmt.Errorf("chaostest-k8s: secrets: %w", err))
	}
	all, err := decodeMap(req.AllSecrets)
	if err != nil {
		return fail(fmt.Errorf("chaostest-k8s: secrets: %w", err))
	}
	if all != nil {
		env.AllSecrets = make(map[string]map[string]any, len(all))
		for scope, v := range all {
			m, err := decodeMap(mustJSON(v))
			if err != nil {
				return fail(fmt.Errorf("chaostest-k8s: secrets of scope %s: %w", scope, err))
			}
			env.AllSecrets[scope] = m
		}
	}
	args, err := decodeMap(req.Args)
	if err != nil {
		return fail(fmt.Errorf("chaostest-k8s: arguments: %w", err))
	}
	if args == nil {
		args = map[string]any{}
	}
	env.Logf = func(format string, a ...any) {
		w.send(response{ID: req.ID, Log: ptr(fmt.Sprintf(format, a...))})
	}
	defer func() {
		if p := recover(); p != nil {
			resp = response{ID: req.ID, Panic: ptr(fmt.Sprint(p)), Stack: string(debug.Stack())}
		}
	}()
	out, err := f.Call(ctx, env, args)
	if err != nil {
		resp.Error = ptr(err.Error())
		var crash *provider.CrashError
		resp.Crash = errors.As(err, &crash)
		var own interface{ ExceptionLines() []string }
		if errors.As(err, &own) {
			resp.Exception = own.ExceptionLines()
		}
		return resp
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fail(fmt.Errorf("the output of %s cannot be encoded as JSON: %w", req.Func, err))
	}
	resp.Output = b
	return resp
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
