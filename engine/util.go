package engine

import (
	"encoding/json"
	"sort"

	"github.com/chaostest/chaostest/internal/pystr"
)

func sortStrings(s []string) { sort.Strings(s) }

// pyStr is Python's str() of a JSON value.
func pyStr(v any) string { return pystr.Str(v) }

// pyRepr is Python's repr() of a JSON value.
func pyRepr(v any) string { return pystr.Repr(v) }

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return pyRepr(v)
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
