package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CheckDestination tells, without writing anything there, whether Write can write a journal at
// path, so a run can refuse a bad journal path before it starts rather than lose its journal at
// the end. It refuses an empty path, a directory, a path whose directory is missing or is not a
// directory, and a directory where no file can be created (read-only, no permission: it creates
// and removes a temporary file to find out). A device or a named pipe (/dev/stdout) is fine. A
// symbolic link is judged by its target, which Write writes.
func CheckDestination(path string) error {
	if path == "" {
		return errors.New("the journal path is empty")
	}
	target, direct, err := destination(path)
	if err != nil {
		return fmt.Errorf("cannot write the journal to %s: %w", path, err)
	}
	if direct {
		return nil
	}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		return fmt.Errorf("cannot write the journal to %s: it is a directory", path)
	}
	dir := filepath.Dir(target)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write the journal to %s: the directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("cannot write the journal to %s: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("cannot write the journal to %s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.check")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot write the journal to %s: cannot create a file in %s: %w", path, dir, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return nil
}

// SameFile reports whether the paths a and b name one existing file (after symbolic links), so
// a journal is never written over the experiment or a var file.
func SameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

// destination works out where a journal for path goes: target is the file to replace (symbolic
// links followed, so the link stays a link), direct is set for what cannot be replaced but only
// written to: a device, a named pipe or a socket (/dev/stdout, /dev/null), and an existing file
// under /dev or /proc, whose links (/proc/self/fd/1) do not name files that can be renamed over.
func destination(path string) (target string, direct bool, err error) {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		if !st.Mode().IsRegular() {
			return path, true, nil
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", false, err
		}
		if strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/") {
			return path, true, nil // /dev/stdout redirected to a file
		}
	}
	target = path
	for i := 0; ; i++ {
		lst, err := os.Lstat(target)
		if err != nil || lst.Mode()&fs.ModeSymlink == 0 {
			return target, false, nil // a file, a directory, or nothing yet
		}
		if i == 40 {
			return "", false, errors.New("too many levels of symbolic links")
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
}
