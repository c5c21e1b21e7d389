package process

import (
	"context"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Call builds a process provider in Go. Its methods change the call and return it, so they
// chain; Activity, Named and Want turn it into a chaostest activity:
//
//	process.Command("kubectl", "get", "pods").Timeout(10 * time.Second).Named("kubectl-works").Want(0)
//
// The provider object a Call writes is exactly what an experiment file would hold
// ({"type": "process", "path": "kubectl", "arguments": ["get", "pods"], "timeout": 10}).
type Call struct {
	p *jsonvalue.Object
}

// Command returns a call running path (looked up in $PATH when it has no "/") with args passed
// as they are, without a shell.
func Command(path string, args ...string) *Call {
	p := jsonvalue.NewObject("type", TypeName, "path", path)
	if len(args) > 0 {
		l := make([]any, len(args))
		for i, a := range args {
			l[i] = a
		}
		p.Set("arguments", l)
	}
	return &Call{p: p}
}

// Shell returns a call running "<path> <args>" through /bin/sh -c, so args may use quoting,
// pipes and variables.
func Shell(path, args string) *Call {
	return &Call{p: jsonvalue.NewObject("type", TypeName, "path", path, "arguments", args)}
}

// Timeout kills the process (and its process group) when it runs longer than d; the activity
// then fails with "process activity took too long to complete".
func (c *Call) Timeout(d time.Duration) *Call {
	if d%time.Second == 0 {
		c.p.Set("timeout", int64(d/time.Second))
	} else {
		c.p.Set("timeout", d.Seconds())
	}
	return c
}

// A *Call is a chaostest.Step: it can be given wherever an activity is expected.
var _ chaostest.Step = (*Call)(nil)

// Object returns a copy of the provider object the call describes.
func (c *Call) Object() *jsonvalue.Object { return c.p.Clone() }

// Activity returns a probe running this process. Each call returns a new activity with its own
// copy of the provider.
func (c *Call) Activity() *chaostest.Activity { return chaostest.NewActivity(c.p.Clone()) }

// Named returns a probe running this process, named name.
func (c *Call) Named(name string) *chaostest.Activity { return c.Activity().Named(name) }

// Want returns a probe running this process whose output must meet tolerance (see
// chaostest.Activity.Want; an int matches the exit status).
func (c *Call) Want(tolerance any) *chaostest.Activity { return c.Activity().Want(tolerance) }

// Do runs the process now, outside any experiment, and returns its output
// {status, stdout, stderr}. Errors are those of Run.
func (c *Call) Do(ctx context.Context) (*jsonvalue.Object, error) {
	out, err := Run(ctx, provider.Env{}, c.p)
	if err != nil {
		return nil, err
	}
	return out.(*jsonvalue.Object), nil
}
