package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDepth is how deeply arrays and objects may nest in a JSON value chaostest reads or writes:
// an experiment, a var file, a provider's output. The one limit serves the loaders (DecodeJSON,
// the YAML decoder) and the journal writer (Encode), so whatever was loaded can be written.
// A top-level object counts as one level; scalars do not count.
const MaxDepth = 1000

// errTooDeep is what decodeValue returns past MaxDepth; DecodeJSON adds the position.
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
	line, col := position(data, offset)
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

// depthOver reports whether v nests arrays and objects deeper than limit levels. It never looks
// deeper than limit+1 levels, so it is cheap on hostile values.
func depthOver(v any, limit int) bool {
	switch x := v.(type) {
	case *Object:
		if limit <= 0 {
			return true
		}
		for _, k := range x.Keys() {
			if depthOver(x.vals[k], limit-1) {
				return true
			}
		}
	case []any:
		if limit <= 0 {
			return true
		}
		for _, e := range x {
			if depthOver(e, limit-1) {
				return true
			}
		}
	case map[string]any:
		if limit <= 0 {
			return true
		}
		for _, e := range x {
			if depthOver(e, limit-1) {
				return true
			}
		}
	}
	return false
}

// CutMarker replaces, in a written journal, a value nested deeper than MaxDepth.
var CutMarker = fmt.Sprintf("(cut by chaostest: nested deeper than %d levels)", MaxDepth)

// clipDepth returns v with every array or object below limit levels replaced by CutMarker
// (copies where it changes something; v itself is left alone).
func clipDepth(v any, limit int) any {
	switch x := v.(type) {
	case *Object:
		if limit <= 0 {
			return CutMarker
		}
		c := &Object{}
		for _, k := range x.Keys() {
			c.Set(k, clipDepth(x.vals[k], limit-1))
		}
		return c
	case []any:
		if limit <= 0 {
			return CutMarker
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = clipDepth(e, limit-1)
		}
		return c
	case map[string]any:
		if limit <= 0 {
			return CutMarker
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = clipDepth(e, limit-1)
		}
		return c
	}
	return v
}

// clipObject is clipDepth for the experiment and activity copies of a journal: o itself when it
// is within MaxDepth.
func clipObject(o *Object) *Object {
	if o == nil || !depthOver(o, MaxDepth) {
		return o
	}
	c, _ := clipDepth(o, MaxDepth).(*Object)
	return c
}

// clipValue is clipDepth for an output: v itself when it is within MaxDepth.
func clipValue(v any) any {
	if !depthOver(v, MaxDepth) {
		return v
	}
	return clipDepth(v, MaxDepth)
}
