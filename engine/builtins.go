package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chaostest/chaostest/provider"
)

// Python standard-library functions that Chaos Toolkit experiments call directly (the Chaos
// Toolkit's own fixtures use os.path.exists, os.rename and os.remove). They are registered so
// such experiment files run unchanged.

type pathArgs struct {
	Path string `arg:"path"`
}

type renameArgs struct {
	Src string `arg:"src"`
	Dst string `arg:"dst"`
}

func init() {
	provider.Register("os.path.exists", "Return True if path refers to an existing path (Python os.path.exists).",
		func(_ context.Context, _ provider.Env, a pathArgs) (any, error) {
			_, err := os.Stat(expandUser(a.Path))
			return err == nil, nil
		})
	provider.Register("os.remove", "Remove (delete) the file path (Python os.remove).",
		func(_ context.Context, _ provider.Env, a pathArgs) (any, error) {
			return nil, pyOSError(os.Remove(expandUser(a.Path)), a.Path)
		})
	provider.Register("os.rename", "Rename the file or directory src to dst (Python os.rename).",
		func(_ context.Context, _ provider.Env, a renameArgs) (any, error) {
			return nil, pyOSError(os.Rename(expandUser(a.Src), expandUser(a.Dst)), a.Src)
		})
}

func expandUser(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// pyOSError words a file error the way Python's OSError subclasses print.
func pyOSError(err error, path string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("FileNotFoundError: [Errno 2] No such file or directory: %s", pyRepr(path))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("PermissionError: [Errno 13] Permission denied: %s", pyRepr(path))
	}
	return fmt.Errorf("OSError: %v", err)
}
