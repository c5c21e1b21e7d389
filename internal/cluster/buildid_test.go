package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoBuildIDFollowsTheSourceOfThePackageAndItsDependencies(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("go.mod", "module example.com/fp\n\ngo 1.22\n")
	write("lib/lib.go", "package lib\n\nfunc Greeting() string { return \"hello\" }\n")
	write("cmd/app/main.go", "package main\n\nimport \"example.com/fp/lib\"\n\nfunc main() { println(lib.Greeting()) }\n")

	first, err := GoBuildID(t.Context(), dir, "./cmd/app")
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{12}$`), first)
	again, err := GoBuildID(t.Context(), dir, "./cmd/app")
	require.NoError(t, err)
	assert.Equal(t, first, again, "an unchanged package keeps its fingerprint")

	write("lib/lib.go", "package lib\n\nfunc Greeting() string { return \"hi\" }\n")
	changed, err := GoBuildID(t.Context(), dir, "./cmd/app")
	require.NoError(t, err)
	assert.NotEqual(t, first, changed, "a changed dependency changes the fingerprint")

	_, err = GoBuildID(t.Context(), dir, "./cmd/missing")
	assert.ErrorContains(t, err, "fingerprint of ./cmd/missing")
}

func TestModuleDirFindsTheMainModule(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/here\n\ngo 1.22\n"), 0o644))
	got, err := ModuleDir(t.Context(), dir, "example.com/here")
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	_, err = ModuleDir(t.Context(), dir, "example.com/not-required")
	assert.ErrorContains(t, err, "example.com/not-required")
}
