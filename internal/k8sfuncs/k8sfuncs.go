// Package k8sfuncs is the signature table of the Kubernetes provider functions (providers/k8s
// and providers/chaosmesh): names, docs and arguments, as plain data. The chaostest CLI registers
// them from this table and runs them in its helper executable chaostest-k8s, so that the CLI
// itself never links client-go (whose package initialisation costs tens of milliseconds at
// every start). table.go is generated from the real registry and checked against it by
// TestTableMatchesTheRegistry:
//
//	go test ./internal/k8sfuncs -run TestTableMatchesTheRegistry -update
package k8sfuncs

//go:generate go test -run TestTableMatchesTheRegistry -update .

// Func is one registered function's signature.
type Func struct {
	// Name is the Python name, "chaosk8s.pod.actions.terminate_pods".
	Name string
	// Doc is the one-line description.
	Doc string
	// Args lists the arguments in declaration order.
	Args []Arg
}

// Arg is one argument.
type Arg struct {
	// Name is the argument's name in experiment files.
	Name string
	// Type is the Go type it binds to.
	Type string
	// Default is the default value (a JSON value as journal decodes it); nil when Required.
	Default any
	// Required is true for an argument without a default.
	Required bool
}

// IsRemote reports whether a registered name belongs to the Kubernetes providers.
func IsRemote(name string) bool {
	return hasPrefix(name, "chaosk8s.") || hasPrefix(name, "chaostest.chaosmesh.")
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
