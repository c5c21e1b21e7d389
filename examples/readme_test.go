package examples_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// snippet is one ```go block of a Markdown file.
type snippet struct {
	line int // line of the opening fence (1-based)
	code string
}

// goSnippets returns the ```go blocks of the Markdown text md.
func goSnippets(md string) []snippet {
	var out []snippet
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		out = append(out, snippet{line: start, code: strings.Join(lines[start:i], "\n") + "\n"})
	}
	return out
}

// markdownDoc is a Markdown file whose Go snippets must compile: the names its snippets use
// without importing or declaring them (fragments rely on the text around them).
type markdownDoc struct {
	path string
	// imports maps a package name to its path (only those a snippet uses are imported).
	imports map[string]string
	// vars maps a free variable to its type and the package names the type needs.
	vars map[string][]string
	// min is how many snippets the file holds at least (a guard on the parser).
	min int
}

// stdImports are the standard library packages the snippets use.
var stdImports = map[string]string{
	"context": "context", "errors": "errors", "fmt": "fmt", "os": "os", "strings": "strings",
	"testing": "testing", "time": "time",
}

var markdownDocs = []markdownDoc{
	{
		path: "README.md",
		// The README's own import block (chttp for providers/http).
		imports: map[string]string{
			"chaostest": "github.com/chaostest/chaostest/chaostest",
			"chttp":     "github.com/chaostest/chaostest/providers/http",
			"process":   "github.com/chaostest/chaostest/providers/process",
			"k8s":       "github.com/chaostest/chaostest/providers/k8s",
			"engine":    "github.com/chaostest/chaostest/engine",
			"journal":   "github.com/chaostest/chaostest/journal",
			"cluster":   "github.com/chaostest/chaostest/cluster",
		},
		vars: map[string][]string{"t": {"*testing.T", "testing"}, "url": {"string"}},
		min:  4,
	},
	{
		path: "examples/greeter/README.md",
		imports: map[string]string{
			"deploy":     "github.com/chaostest/chaostest/examples/greeter/deploy",
			"service":    "github.com/chaostest/chaostest/examples/greeter/service",
			"kubernetes": "k8s.io/client-go/kubernetes",
		},
		vars: map[string][]string{
			"ctx":       {"context.Context", "context"},
			"logf":      {"func(format string, args ...any)"},
			"clientset": {"kubernetes.Interface", "kubernetes"},
		},
		min: 1,
	},
}

// snippetFile turns a snippet of doc into a Go file whose positions are the Markdown file's (a
// //line directive): a snippet with a package clause is a file already; declarations (func ...) get a
// package clause and the imports they use; statements are wrapped in a function. Free names the
// text uses for brevity (doc.vars) are package-level variables, and variables a statement
// snippet declares are marked used.
func snippetFile(t *testing.T, doc markdownDoc, s snippet) string {
	at := fmt.Sprintf("//line %s:%d\n", doc.path, s.line+1)
	if regexp.MustCompile(`(?m)^package \w+`).MatchString(s.code) {
		return at + s.code
	}
	fset := token.NewFileSet()
	stmts := !strings.HasPrefix(strings.TrimSpace(s.code), "func ")
	src := "package p\n" + s.code
	if stmts {
		src = "package p\nfunc _() {\n" + s.code + "\n}\n"
	}
	f, err := parser.ParseFile(fset, "", src, 0)
	require.NoError(t, err, "%s:%d: the snippet does not parse as Go", doc.path, s.line+1)
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			names[id.Name] = true
		}
		return true
	})
	var decls strings.Builder
	for _, name := range slices.Sorted(maps.Keys(doc.vars)) {
		if names[name] {
			fmt.Fprintf(&decls, "var %s %s\n", name, doc.vars[name][0])
			for _, pkg := range doc.vars[name][1:] {
				names[pkg] = true
			}
		}
	}
	var b strings.Builder
	b.WriteString("package snippet\n\nimport (\n")
	for _, imports := range []map[string]string{stdImports, doc.imports} {
		for _, name := range slices.Sorted(maps.Keys(imports)) {
			if names[name] {
				fmt.Fprintf(&b, "\t%s %q\n", name, imports[name])
			}
		}
	}
	b.WriteString(")\n\n" + decls.String())
	if !stmts {
		b.WriteString(at + s.code)
		return b.String()
	}
	b.WriteString("func _() {\n" + at + s.code)
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					b.WriteString("\t_ = " + id.Name + "\n")
				}
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// TestMarkdownSnippetsCompile compiles every ```go block of README.md and
// examples/greeter/README.md against the current tree (with the chaos tag, which the README's
// first snippet carries), so the documentation cannot drift from the API. The snippets are laid
// over the module with -overlay (nothing is written into the repository); an error names the
// Markdown file and line.
func TestMarkdownSnippetsCompile(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	tmp := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	for _, doc := range markdownDocs {
		md, err := os.ReadFile(filepath.Join(root, doc.path))
		require.NoError(t, err)
		snippets := goSnippets(string(md))
		require.GreaterOrEqual(t, len(snippets), doc.min, "%s has fewer Go snippets than expected: is the parser still right?", doc.path)
		for _, s := range snippets {
			n := fmt.Sprint(len(pkgs))
			src := filepath.Join(tmp, "snippet"+n+".go")
			require.NoError(t, os.WriteFile(src, []byte(snippetFile(t, doc, s)), 0o644))
			replace[filepath.Join(root, "examples", "doc-snippets", n, "snippet.go")] = src
			pkgs = append(pkgs, "./examples/doc-snippets/"+n)
		}
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	require.NoError(t, err)
	ovl := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(ovl, overlay, 0o644))

	cmd := exec.Command(filepath.Join(runtimeGOROOT(t), "bin", "go"), append([]string{"build", "-tags", "chaos", "-overlay", ovl}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Go snippets of the Markdown files do not compile against the current API:\n%s", out)
	}
}
