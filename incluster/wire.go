package incluster

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The journal travels from the Job's pod to the CLI in the pod's log, after the run's own
// lines: a begin marker with the size and SHA-256 of the journal, the gzip-compressed journal
// in base64 lines, and an end marker. The log is the one channel that is read anyway, has no
// size limit (a ConfigMap holds 1 MiB, a termination message 4 KiB), needs no extra permission
// for the Job's service account, and the checksum proves the copy is whole.
const (
	beginMarker = "chaostest-journal-begin"
	endMarker   = "chaostest-journal-end"
	lineWidth   = 4096
)

// WriteJournal writes the journal file's bytes to w in the log framing that ReadLog decodes.
func WriteJournal(w io.Writer, data []byte) error {
	sum := sha256.Sum256(data)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %d %s\n", beginMarker, len(data), hex.EncodeToString(sum[:]))
	for len(enc) > 0 {
		n := min(lineWidth, len(enc))
		bw.WriteString(enc[:n])
		bw.WriteByte('\n')
		enc = enc[n:]
	}
	fmt.Fprintf(bw, "%s\n", endMarker)
	return bw.Flush()
}

// journalReader collects the framed journal from log lines.
type journalReader struct {
	in   bool
	done bool
	size int
	sum  string
	b64  strings.Builder
}

// line takes one log line; it reports whether the line belongs to the framing (and so is not
// one of the run's own lines).
func (r *journalReader) line(l string) (framing bool, err error) {
	switch {
	case r.done:
		return false, nil
	case !r.in && strings.HasPrefix(l, beginMarker+" "):
		f := strings.Fields(l)
		if len(f) != 3 {
			return true, fmt.Errorf("malformed journal marker %q", l)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return true, fmt.Errorf("malformed journal marker %q", l)
		}
		r.in, r.size, r.sum = true, n, f[2]
		r.b64.Reset()
		return true, nil
	case r.in && l == endMarker:
		r.in, r.done = false, true
		return true, nil
	case r.in:
		r.b64.WriteString(strings.TrimSpace(l))
		return true, nil
	}
	return false, nil
}

// journal returns the decoded journal, checked against the marker's size and checksum.
func (r *journalReader) journal() ([]byte, error) {
	if !r.done {
		if r.in {
			return nil, errors.New("the journal in the pod's log was cut before its end marker")
		}
		return nil, errors.New("the pod's log holds no journal")
	}
	gz, err := base64.StdEncoding.DecodeString(r.b64.String())
	if err != nil {
		return nil, fmt.Errorf("the journal in the pod's log is not valid base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("the journal in the pod's log: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, int64(r.size)+1))
	if err != nil {
		return nil, fmt.Errorf("the journal in the pod's log: %w", err)
	}
	sum := sha256.Sum256(data)
	if len(data) != r.size || hex.EncodeToString(sum[:]) != r.sum {
		return nil, fmt.Errorf("the journal in the pod's log does not match its checksum (%d bytes, want %d)", len(data), r.size)
	}
	return data, nil
}
