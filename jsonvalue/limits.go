package jsonvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDepth is how deeply arrays and objects may nest in a JSON value chaostest reads or writes:
// an experiment, a var file, a provider's output. The one limit serves the loaders (Decode,
// the YAML decoder) and the journal writer (journal.Encode), so whatever was loaded can be written.
// A top-level object counts as one level; scalars do not count.
const MaxDepth = 1000

// errTooDeep is what the decoder returns past MaxDepth; Decode adds the position.
var errTooDeep = fmt.Errorf("arrays and objects nest deeper than %d levels (the nesting limit)", MaxDepth)

// errTooMany is what a limited decoder returns past its budget of values.
var errTooMany = errors.New("too many values")

// SyntaxError is a JSON value that cannot be read: a syntax error or nesting past MaxDepth, at
// a 1-based line and column (in bytes) of the text.
type SyntaxError struct {
	Line, Column int
	// Msg says what is wrong, without the position.
	Msg string
}

// Error returns the message prefixed with its line and column.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// positioned returns a *SyntaxError for the byte at offset.
func positioned(data []byte, offset int64, msg string) *SyntaxError {
	line, col := Position(data, offset)
	return &SyntaxError{Line: line, Column: col, Msg: msg}
}

// syntaxError gives err (from a json.Decoder reading data) its line and column. The message
// never quotes the input beyond the one character encoding/json names.
func syntaxError(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// A json.Decoder's offsets are not reliable for Token errors; a plain scan of the text
		// (no allocation, no recursion) finds the same error at its exact offset.
		var exact *json.SyntaxError
		if errors.As(json.Unmarshal(data, new(json.RawMessage)), &exact) {
			se = exact
		}
		return positioned(data, se.Offset-1, se.Error()) // Offset is just past the bad byte
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return positioned(data, int64(len(data)), "unexpected end of JSON input")
	case errors.Is(err, errTooDeep), errors.Is(err, errTooMany):
		return positioned(data, dec.InputOffset()-1, err.Error())
	}
	return positioned(data, dec.InputOffset(), err.Error())
}

// Position turns a byte offset in data into a 1-based line and column (in bytes), as
// SyntaxError gives them.
func Position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
