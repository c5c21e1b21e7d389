package journal

import (
	"fmt"

	"github.com/chaostest/chaostest/jsonvalue"
)

// depthOver reports whether v nests arrays and objects deeper than limit levels. It never looks
// deeper than limit+1 levels, so it is cheap on hostile values.
func depthOver(v any, limit int) bool {
	switch x := v.(type) {
	case *jsonvalue.Object:
		if limit <= 0 {
			return true
		}
		for _, k := range x.Keys() {
			if depthOver(x.Value(k), limit-1) {
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

// CutMarker replaces, in a written journal, a value nested deeper than jsonvalue.MaxDepth.
var CutMarker = fmt.Sprintf("(cut by chaostest: nested deeper than %d levels)", jsonvalue.MaxDepth)

// clipDepth returns v with every array or object below limit levels replaced by CutMarker
// (copies where it changes something; v itself is left alone).
func clipDepth(v any, limit int) any {
	switch x := v.(type) {
	case *jsonvalue.Object:
		if limit <= 0 {
			return CutMarker
		}
		c := &jsonvalue.Object{}
		for _, k := range x.Keys() {
			c.Set(k, clipDepth(x.Value(k), limit-1))
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
// is within jsonvalue.MaxDepth.
func clipObject(o *jsonvalue.Object) *jsonvalue.Object {
	if o == nil || !depthOver(o, jsonvalue.MaxDepth) {
		return o
	}
	c, _ := clipDepth(o, jsonvalue.MaxDepth).(*jsonvalue.Object)
	return c
}

// clipValue is clipDepth for an output: v itself when it is within jsonvalue.MaxDepth.
func clipValue(v any) any {
	if !depthOver(v, jsonvalue.MaxDepth) {
		return v
	}
	return clipDepth(v, jsonvalue.MaxDepth)
}
