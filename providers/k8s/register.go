package k8s

import (
	"context"
	"strings"
	"time"

	"github.com/chaostest/chaostest/provider"
)

type clientKey struct{}

// withClient makes the registered functions called with ctx use c instead of building a
// client from the environment.
func withClient(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// impl is one chaosk8s function: its arguments struct A carries `arg` and `default` tags.
type impl[A any] func(ctx context.Context, c *Client, env provider.Env, a A) (any, error)

// names lists every name this package registers, in registration order.
var names []string

// register adds fn to the chaostest registry under name. The client comes from the context
// (Go constructors) or from FromEnv with the provider's secrets (experiment files). Actions
// record their end time on the client, for RecoveryTime.
func register[A any](name, doc string, fn impl[A]) {
	names = append(names, name)
	isAction := strings.Contains(name, ".actions.") || strings.HasPrefix(name, "chaosk8s.actions.")
	provider.Register(name, doc, func(ctx context.Context, env provider.Env, a A) (any, error) {
		c, _ := ctx.Value(clientKey{}).(*Client)
		if c == nil {
			var err error
			if c, err = FromEnv(env.Secrets); err != nil {
				return nil, err
			}
		}
		out, err := fn(ctx, c, env, a)
		if isAction {
			c.markAction(time.Now())
		}
		return out, err
	})
}

// Names returns every chaosk8s name this package registers.
func Names() []string { return append([]string(nil), names...) }
