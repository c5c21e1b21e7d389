package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/chaostest/chaostest/provider"
)

// providersMain lists every registered provider: the Chaos Toolkit provider types and every
// Python name implemented in Go, with its arguments and defaults, like `chaos discover`.
func providersMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("providers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the catalogue as JSON")
	prefix := fs.String("prefix", "", "list only names starting with this prefix (e.g. chaosk8s.pod)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: chaostest providers [--json] [--prefix P]")
		return 2
	}
	type arg struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Required bool   `json:"required"`
		Default  any    `json:"default,omitempty"`
	}
	type entry struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Module    string `json:"mod"`
		Func      string `json:"func"`
		Doc       string `json:"doc"`
		Arguments []arg  `json:"arguments"`
	}
	var out []entry
	for _, f := range provider.Funcs() {
		if !strings.HasPrefix(f.Name, *prefix) {
			continue
		}
		e := entry{Name: f.Name, Type: activityType(f.Module()), Module: f.Module(), Func: f.FuncName(), Doc: f.Doc, Arguments: []arg{}}
		for _, a := range f.Args {
			e.Arguments = append(e.Arguments, arg{Name: a.Name, Type: a.Type, Required: a.Required, Default: a.Default})
		}
		out = append(out, e)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	for _, e := range out {
		var sig []string
		for _, a := range e.Arguments {
			if a.Required {
				sig = append(sig, a.Name)
			} else {
				d, _ := json.Marshal(a.Default)
				sig = append(sig, a.Name+"="+string(d))
			}
		}
		fmt.Fprintf(stdout, "%s(%s)  [%s]\n", e.Name, strings.Join(sig, ", "), e.Type)
		if e.Doc != "" {
			fmt.Fprintf(stdout, "    %s\n", e.Doc)
		}
	}
	fmt.Fprintf(stdout, "%d functions; provider types: python, http, process\n", len(out))
	return 0
}

// activityType tells from a module name whether its functions are actions or probes, as
// chaostoolkit's discovery does.
func activityType(module string) string {
	switch {
	case strings.HasSuffix(module, ".actions") || strings.HasSuffix(module, "actions"):
		return "action"
	case strings.HasSuffix(module, ".probes") || strings.HasSuffix(module, "probes"):
		return "probe"
	}
	return "probe"
}
