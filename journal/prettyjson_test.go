package journal

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

// stdPretty is what encoding/json writes for v with two-space indentation and no HTML escaping.
func stdPretty(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func TestAppendPrettyJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, int64(-7), 42, 0.0, 1.5, -2.25, 1e-7, 1.5e-9, 1e21, 123456789.125, 1e20,
		"", "plain", "quote \" backslash \\ newline \n tab \t cr \r bell \a nul \x00 del \x7f",
		"<html> & 'single'", "ünïcödé ✓ 😀", "bad utf8 \xff\xfe", "line sep \u2028 para \u2029",
		[]any{}, []any{int64(1), "two", []any{nil}}, jsonvalue.NewObject(), map[string]any{},
		jsonvalue.NewObject("z", int64(1), "a", jsonvalue.NewObject("nested", []any{true, map[string]any{"b": 1.0, "a": "x"}})),
		map[string]any{"k": []any{jsonvalue.NewObject("x", nil)}},
		[]string{"typed", "slice"}, struct {
			A int `json:"a"`
		}{3},
		[]any{[]int{1, 2}, jsonvalue.NewObject("m", map[string]int{"q": 1})},
	}
	for _, v := range values {
		got, err := appendPrettyJSON(nil, v, 0)
		require.NoError(t, err, "%#v", v)
		assert.Equal(t, stdPretty(t, v), string(got), "%#v", v)
	}
	for _, path := range allJournals(t) {
		j := mustRead(t, path)
		var all []*Run
		if j.SteadyStates.Before != nil {
			all = append(all, j.SteadyStates.Before.Probes...)
		}
		if j.SteadyStates.After != nil {
			all = append(all, j.SteadyStates.After.Probes...)
		}
		for _, s := range j.SteadyStates.During {
			all = append(all, s.Probes...)
		}
		all = append(all, j.Run...)
		all = append(all, j.Rollbacks...)
		for _, r := range all {
			for _, v := range []any{r.Activity, r.Output} {
				got, err := appendPrettyJSON(nil, v, 0)
				require.NoError(t, err)
				assert.Equal(t, stdPretty(t, v), string(got), path)
			}
		}
		got, err := appendPrettyJSON(nil, j.Experiment, 0)
		require.NoError(t, err)
		assert.Equal(t, stdPretty(t, j.Experiment), string(got), path)
	}
}

func TestAppendPrettyJSONErrors(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), jsonvalue.NewObject("c", make(chan int)), []any{func() {}}} {
		_, err := appendPrettyJSON(nil, v, 0)
		assert.Error(t, err, "%#v", v)
	}
}
