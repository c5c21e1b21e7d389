// Package reuse lets a provider keep something (an HTTP keep-alive connection pool) from one
// call to the next within a scope the engine opens: the steady-state checks made continuously
// while the method runs. Outside such a scope nothing is kept, and every call starts afresh as
// Chaos Toolkit's do.
package reuse

import (
	"context"
	"io"
	"sync"
)

// Scope holds what providers keep between calls. Its zero value is not usable; see With.
type Scope struct {
	mu     sync.Mutex
	values map[any]io.Closer
	closed bool
}

type scopeKey struct{}

// With returns a context carrying a new scope, and the function that ends it: it closes what
// the providers kept (in no particular order). Calling it twice is harmless.
func With(ctx context.Context) (context.Context, func()) {
	s := &Scope{values: map[any]io.Closer{}}
	return context.WithValue(ctx, scopeKey{}, s), s.close
}

func (s *Scope) close() {
	s.mu.Lock()
	values := s.values
	s.values, s.closed = nil, true
	s.mu.Unlock()
	for _, v := range values {
		_ = v.Close()
	}
}

// Get returns the value kept under key in ctx's scope, made with create the first time. It
// returns nil when ctx carries no scope or the scope has ended: the caller then works without
// reuse.
func Get(ctx context.Context, key any, create func() io.Closer) io.Closer {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	v, ok := s.values[key]
	if !ok {
		v = create()
		s.values[key] = v
	}
	return v
}
