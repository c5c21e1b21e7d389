package engine

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Limits on what chaostest reads, so a hostile or broken file gets a clear error instead of
// exhausting memory. See also jsonvalue.MaxDepth (nesting, shared by the loaders and the journal
// writer) and pyyaml.MaxAliasValues (YAML alias expansion).
const (
	// DefaultMaxFileSize is the largest experiment or var file read, in bytes, unless
	// LoadOptions.MaxFileSize or the MaxFileSizeEnv environment variable says otherwise.
	DefaultMaxFileSize = 16 << 20
	// MaxFileSizeEnv names the environment variable that changes the default file size limit
	// ("32MiB", "1048576"); LoadOptions.MaxFileSize and `--max-file-size` take precedence.
	MaxFileSizeEnv = "CHAOSTEST_MAX_FILE_SIZE"
	// MaxActivities bounds the activities an experiment declares (method, rollbacks and
	// steady-state probes together).
	MaxActivities = 10_000
	// MaxValues bounds the values (arrays, objects and scalars) of an experiment or var file:
	// millions of tiny values cost seconds and hundreds of megabytes to read. A YAML document is
	// checked before parsing by counting the characters that separate YAML values.
	MaxValues = 200_000
	// MaxDepth is jsonvalue.MaxDepth: how deeply arrays and objects may nest.
	MaxDepth = jsonvalue.MaxDepth
	// MaxAliasValues is pyyaml.MaxAliasValues: how many values YAML aliases may add.
	MaxAliasValues = pyyaml.MaxAliasValues
)

// LoadOptions changes how LoadWith reads an experiment, and how Vars.LoadFileWith reads a var
// file. The zero value is Load's behaviour.
type LoadOptions struct {
	// MaxFileSize is the largest file (or http response body) read, in bytes. Zero means the
	// MaxFileSizeEnv environment variable when it is set, else DefaultMaxFileSize.
	MaxFileSize int64
	// InsecureTLS turns TLS verification off for http(s) sources (`--no-verify-tls`).
	InsecureTLS bool
}

// maxFileSize resolves the file size limit.
func (o LoadOptions) maxFileSize() (int64, error) {
	if o.MaxFileSize > 0 {
		return o.MaxFileSize, nil
	}
	if s, ok := os.LookupEnv(MaxFileSizeEnv); ok && s != "" {
		n, err := ParseSize(s)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", MaxFileSizeEnv, s, err)
		}
		return n, nil
	}
	return DefaultMaxFileSize, nil
}

// ParseSize reads a size in bytes: a positive integer, optionally followed by a unit: B, K/KB/KiB,
// M/MB/MiB or G/GB/GiB (all powers of 1024), case-insensitive ("16MiB", "512k", "1048576").
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	var mult int64
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("invalid size %q: want a number of bytes, optionally with a unit K, M or G (powers of 1024)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes, optionally with a unit K, M or G (powers of 1024)", s)
	}
	return n * mult, nil
}

// FormatSize writes a byte count as people read it: "16 MiB", "1.5 KiB", "700 bytes".
func FormatSize(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	f, u := float64(n)/1024, 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", f), "0"), ".") + " " + units[u]
}

// TooLargeError is a file or response larger than the file size limit.
type TooLargeError struct {
	// Size is the size in bytes, or -1 when only "more than Limit" is known.
	Size int64
	// Limit is the limit in bytes.
	Limit int64
}

// Error gives the size, the limit and how to raise it.
func (e *TooLargeError) Error() string {
	size := "more than " + FormatSize(e.Limit)
	if e.Size >= 0 {
		size = FormatSize(e.Size)
	}
	return fmt.Sprintf("too large: %s, over the file size limit of %s (raise it with --max-file-size or %s)", size, FormatSize(e.Limit), MaxFileSizeEnv)
}

// ReadFileLimited reads a whole file within o's file size limit (MaxFileSize, the environment
// or DefaultMaxFileSize). A FIFO without a writer reads as empty instead of blocking forever.
func ReadFileLimited(path string, o LoadOptions) ([]byte, error) {
	limit, err := o.maxFileSize()
	if err != nil {
		return nil, err
	}
	return readFileLimited(path, limit)
}

// readFileLimited reads a whole file of at most limit bytes. The size is checked before
// reading, and the read stops one byte past the limit (for pipes and devices, whose size is
// not known), so a huge file is never held in memory.
func readFileLimited(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO that has no writer would otherwise block forever (a hostile
	// path, or a process that died). Go reads such a file through its poller, so a pipe with
	// a writer still reads to its end, and one without reads as empty.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > limit {
			return nil, &TooLargeError{Size: st.Size(), Limit: limit}
		}
		size = st.Size()
	}
	return readLimited(f, limit, size)
}

// readLimited reads r to its end, failing with a *TooLargeError past limit bytes. sizeHint, when
// known, sizes the buffer at once; otherwise it doubles (io.ReadAll's smaller steps would
// allocate several times the limit on the way to it).
func readLimited(r io.Reader, limit, sizeHint int64) ([]byte, error) {
	size := int64(64 << 10)
	if sizeHint > 0 {
		size = sizeHint + 1 // +1 to see the end of the file without growing
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, &TooLargeError{Size: -1, Limit: limit}
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, &TooLargeError{Size: -1, Limit: limit}
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkActivities refuses an experiment that declares more than MaxActivities activities.
func checkActivities(obj *jsonvalue.Object) error {
	n := len(list(obj.Value("method"))) + len(list(obj.Value("rollbacks")))
	if h, ok := obj.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		n += len(list(h.Value("probes")))
	}
	if n > MaxActivities {
		return fmt.Errorf("the experiment declares %d activities (method, rollbacks and steady-state probes together), over the limit of %d", n, MaxActivities)
	}
	return nil
}

// checkUTF8 refuses text that is not valid UTF-8, naming where the first bad byte is (Chaos
// Toolkit reads files as UTF-8 text and fails on such a byte; running with U+FFFD in place
// would journal an experiment that is not the one on disk).
func checkUTF8(data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("line %d, column %d: byte 0x%02x is not valid UTF-8 (files must be UTF-8 text)", line, col, data[i])
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}
