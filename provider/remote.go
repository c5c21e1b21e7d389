package provider

import (
	"context"
	"fmt"
)

// RegisterRemote makes a function whose Go code runs in another process (the chaostest CLI runs
// the Kubernetes providers in its helper executable chaostest-k8s) callable from experiment
// files under name, with the signature args, so that validation and `chaostest providers` know
// it without its code. call gets the arguments as given (unbound and unchecked: the other
// process binds them). Registering a name twice panics.
func RegisterRemote(name, doc string, args []ArgSpec, call func(ctx context.Context, env Env, args map[string]any) (any, error)) *Func {
	f := &Func{Name: name, Doc: doc, Args: args, call: call}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.funcs[name]; dup {
		panic(fmt.Sprintf("provider.RegisterRemote: %q registered twice", name))
	}
	registry.funcs[name] = f
	return f
}
