// Package examples_test keeps examples/usermodule from rotting: that directory is a Go module
// of its own (a new user's module, with a replace to this repository), so `go test ./...` of
// this module does not see it; this test builds and vets it against the current tree.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUserModuleBuildsAndVetsWithPublicPackagesOnly copies examples/usermodule to a temporary
// directory, points its replace directive at this repository, and runs go build and go vet
// (without and with the chaos tag) there. It works offline: GOPROXY=off and -mod=mod let the go
// command fill go.sum from the module cache, which holds everything this module's own tests
// need. The go command refuses imports of internal packages from another module, so a
// successful build also proves that the module uses public packages only; the test checks
// the imports too, to say so plainly.
func TestUserModuleBuildsAndVetsWithPublicPackagesOnly(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	src := filepath.Join(root, "examples", "usermodule")
	dir := filepath.Join(t.TempDir(), "usermodule")
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))

	gomod := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(gomod)
	require.NoError(t, err)
	replace := regexp.MustCompile(`(?m)^replace github\.com/chaostest/chaostest => \.\./\.\.$`)
	require.Regexp(t, replace, string(b), "the user module must replace chaostest by the repository root")
	require.NoError(t, os.WriteFile(gomod, replace.ReplaceAll(b, []byte("replace github.com/chaostest/chaostest => "+root)), 0o644))

	goTool := filepath.Join(runtimeGOROOT(t), "bin", "go")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s in a copy of examples/usermodule:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	run("build", "./...")
	run("vet", "./...")
	run("vet", "-tags", "chaos", "./...")

	imports := run("list", "-tags", "chaos", "-test", "-f", `{{join .Imports "\n"}}{{"\n"}}{{join .TestImports "\n"}}{{"\n"}}{{join .XTestImports "\n"}}`, "./...")
	var used []string
	for _, imp := range strings.Fields(imports) {
		if strings.HasPrefix(imp, "github.com/chaostest/chaostest") {
			require.NotContains(t, imp, "/internal", "the user module imports an internal package")
			used = append(used, imp)
		}
	}
	for _, want := range []string{"/chaostest", "/cluster", "/providers/k8s", "/providers/http"} {
		require.Contains(t, used, "github.com/chaostest/chaostest"+want, "the user module shows %s", want)
	}

}

// runtimeGOROOT is the GOROOT of the go command on PATH (the one `go test` runs under).
func runtimeGOROOT(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}
