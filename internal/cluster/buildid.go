package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GoBuildID returns 12 hex digits that change whenever the Go main package pkg, as
// [BuildGoImage] would build it from dir ("" is the current directory), or any package it
// depends on changes. It compiles through the Go build cache but does not link, so for an
// unchanged package it takes about a second where a build takes several: callers use it to
// tag an image and skip the build when the node already holds that tag.
func GoBuildID(ctx context.Context, dir, pkg string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	out, err := goOutput(ctx, dir, []string{"GOFLAGS=", "GOARCH=amd64"}, "list", "-export", "-trimpath", "-f", "{{.BuildID}}", pkg)
	if err != nil {
		return "", fmt.Errorf("fingerprint of %s: %w", pkg, err)
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.Contains(id, "\n") {
		return "", fmt.Errorf("fingerprint of %s: unexpected go list output %q", pkg, out)
	}
	sum := sha256.Sum256([]byte("chaostest-image-v1\x00" + id))
	return hex.EncodeToString(sum[:])[:12], nil
}

// ModuleDir returns the directory that holds module (for example
// "github.com/chaostest/chaostest") as the Go module in dir ("" is the current directory)
// resolves it: the module itself, the target of a replace directive, or the module cache. A
// package of module builds there with module's own go.mod and go.sum, whatever the caller's
// module requires.
func ModuleDir(ctx context.Context, dir, module string) (string, error) {
	out, err := goOutput(ctx, dir, []string{"GOFLAGS=-mod=mod"}, "list", "-m", "-f", "{{.Dir}}", module)
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	d := strings.TrimSpace(out)
	if d == "" {
		return "", fmt.Errorf("locating module %s: not downloaded (run go mod download %s)", module, module)
	}
	return d, nil
}

// goOutput runs the go command in dir with BuildGoImage's environment plus extraEnv and
// returns its standard output; standard error goes into the error.
func goOutput(ctx context.Context, dir string, extraEnv []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOOS=linux")
	cmd.Env = append(cmd.Env, extraEnv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return string(out), nil
}
