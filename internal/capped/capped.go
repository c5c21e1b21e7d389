// Package capped holds provider outputs to a bounded size: an HTTP body or a process's stdout
// and stderr of gigabytes must not be held whole. What is past Max is counted and dropped, and
// the output records the cut (see Key).
package capped

import (
	"errors"
	"io"
	"unicode/utf8"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Max is the most kept of one output stream, in bytes: an HTTP response body (after its
// Content-Encoding is undone), a process's stdout, its stderr.
const Max = 10 << 20

// Key is the output key that records a cut: {"stdout": {"kept": 10485760, "size": 104857600}}
// ("size" is left out when unknown: an HTTP body is not read past the cap).
const Key = "truncated"

// Buffer is an io.Writer that keeps the first Max bytes written to it and counts the rest.
// Its zero value is ready to use. It never fails, so a process writing to it is never blocked
// or broken by the cap.
type Buffer struct {
	buf []byte
	n   int64
}

// Write keeps what fits under Max and counts everything.
func (b *Buffer) Write(p []byte) (int, error) {
	n := len(p)
	b.n += int64(n)
	if room := Max - len(b.buf); room > 0 {
		p = p[:min(room, len(p))]
		if need := len(b.buf) + len(p); need > cap(b.buf) {
			// Double (append grows large slices by 1.25, which allocates 5 times Max in all).
			grown := make([]byte, len(b.buf), min(max(2*cap(b.buf), need, 4096), Max))
			copy(grown, b.buf)
			b.buf = grown
		}
		b.buf = append(b.buf, p...)
	}
	return n, nil
}

// Bytes returns what was kept, without a final partial UTF-8 sequence when it was cut.
func (b *Buffer) Bytes() []byte {
	if b.Cut() {
		return TrimPartialRune(b.buf)
	}
	return b.buf
}

// Cut reports whether more than Max bytes were written.
func (b *Buffer) Cut() bool { return b.n > Max }

// Size returns how many bytes were written in all.
func (b *Buffer) Size() int64 { return b.n }

// ReadAll reads r up to Max bytes; cut is set when r had more (r is not read further). A read
// error is returned with what was read before it.
func ReadAll(r io.Reader) (data []byte, cut bool, err error) {
	// Read straight into a buffer that doubles (io.Copy would add a 32 KiB buffer per call, and
	// io.ReadAll's smaller steps allocate 5 times Max on the way to a large body).
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > Max {
				break
			}
			grown := make([]byte, len(buf), min(2*cap(buf), Max+1))
			copy(grown, buf)
			buf = grown
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if len(buf) > Max {
				break
			}
			return buf, false, rerr
		}
	}
	if len(buf) > Max {
		return TrimPartialRune(buf[:Max]), true, nil
	}
	return buf, false, nil
}

// IsUnexpectedEOF reports a stream that ended early, which a cut compressed body does.
func IsUnexpectedEOF(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// TrimPartialRune drops an incomplete UTF-8 sequence at the end of b (a cut in the middle of a
// character), so text that was valid UTF-8 stays valid.
func TrimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b // ASCII: complete
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// Record adds to out (a provider's output object) that stream was cut: Key gets
// {stream: {"kept": kept, "size": size}}, size left out when it is negative (unknown).
func Record(out *jsonvalue.Object, stream string, kept int, size int64) {
	t, _ := out.Value(Key).(*jsonvalue.Object)
	if t == nil {
		t = &jsonvalue.Object{}
		out.Set(Key, t)
	}
	info := jsonvalue.NewObject("kept", int64(kept))
	if size >= 0 {
		info.Set("size", size)
	}
	t.Set(stream, info)
}
