package chaostest_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxExported bounds the face of package chaostest: what a test author needs, nothing more.
// Provider-author and engine API belong in packages provider and engine.
const maxExported = 40

// exportedNames returns the exported names of the package in dir (types, funcs, methods of
// exported types, consts, vars; test files and every build tag included), each with its doc
// comment ("" when it has none). A const or var inherits its group's comment, as go doc shows it.
func exportedNames(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range pkgs {
		d := doc.New(p, dir, doc.PreserveAST)
		values := func(prefix string, vs []*doc.Value) {
			for _, v := range vs {
				for _, spec := range v.Decl.Specs {
					vs := spec.(*ast.ValueSpec)
					comment := v.Doc
					if vs.Doc != nil {
						comment += vs.Doc.Text()
					}
					if vs.Comment != nil {
						comment += vs.Comment.Text()
					}
					for _, n := range vs.Names {
						if n.IsExported() {
							names[prefix+n.Name] = comment
						}
					}
				}
			}
		}
		values("const ", d.Consts)
		values("var ", d.Vars)
		for _, f := range d.Funcs {
			names["func "+f.Name] = f.Doc
		}
		for _, ty := range d.Types {
			names["type "+ty.Name] = ty.Doc
			values("const ", ty.Consts)
			values("var ", ty.Vars)
			for _, f := range ty.Funcs {
				names["func "+f.Name] = f.Doc
			}
			for _, m := range ty.Methods {
				names["method "+ty.Name+"."+m.Name] = m.Doc
			}
		}
	}
	return names
}

// TestExportedNames keeps package chaostest under maxExported exported names. Print them with
// `go test ./chaostest -run TestExportedNames -v`.
func TestExportedNames(t *testing.T) {
	names := exportedNames(t, ".")
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range names {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("%d exported names:\n  %s", len(keys), strings.Join(keys, "\n  "))
	if len(keys) >= maxExported {
		t.Errorf("package chaostest exports %d names, want fewer than %d: move what a test author does not need to engine or provider, or unexport it", len(keys), maxExported)
	}
}

// TestDocComments fails when an exported name of a non-internal package of the repository
// (examples included) has no doc comment.
func TestDocComments(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dirs := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		switch name := d.Name(); {
		case path == root:
		case name == "internal" || name == "testdata" || name == "vendor" ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
			return filepath.SkipDir
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(entries, func(e fs.DirEntry) bool {
			return strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go")
		}) {
			return nil
		}
		dirs++
		rel, _ := filepath.Rel(root, path)
		for name, comment := range exportedNames(t, path) {
			if strings.TrimSpace(comment) == "" {
				t.Errorf("%s: %s has no doc comment", rel, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dirs < 10 {
		t.Fatalf("checked %d package directories under %s, expected the whole repository", dirs, root)
	}
}
