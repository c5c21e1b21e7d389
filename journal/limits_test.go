package journal

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nested(depth int) any {
	var v any = "bottom"
	for i := 0; i < depth; i++ {
		v = []any{v}
	}
	return v
}

func TestDecodeJSONDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	_, err := DecodeJSON([]byte(ok))
	require.NoError(t, err)
	_, err = DecodeJSON([]byte("[" + ok + "]"))
	require.EqualError(t, err, "line 1, column 1001: arrays and objects nest deeper than 1000 levels (the nesting limit)")
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1001, se.Column)
	_, err = DecodeJSON([]byte("{\"a\": 1}\n  x"))
	require.EqualError(t, err, "line 2, column 3: invalid character 'x' after top-level value")
}

// TestEncodeClipsTooDeepValues: a Go provider's output nested past MaxDepth does not stop the
// journal from being written; the part past the limit is replaced by CutMarker.
func TestEncodeClipsTooDeepValues(t *testing.T) {
	exp := NewObject("title", "t", "x", nested(MaxDepth-1))
	j := &Journal{Experiment: exp, Status: StatusCompleted, Run: []*Run{
		{Activity: NewObject("name", "deep"), Output: nested(5000), Status: RunSucceeded},
		{Activity: NewObject("name", "flat"), Output: "ok", Status: RunSucceeded},
	}}
	data, err := Encode(j)
	require.NoError(t, err)
	back, err := Parse(data)
	require.NoError(t, err)
	v := back.Run[0].Output
	for i := 0; i < MaxDepth; i++ {
		a, ok := v.([]any)
		require.True(t, ok, "level %d", i)
		v = a[0]
	}
	assert.Equal(t, CutMarker, v)
	assert.Equal(t, "ok", back.Run[1].Output)
	// The experiment, at the limit, is written whole; the caller's journal is left alone.
	assert.False(t, depthOver(back.Experiment, MaxDepth))
	assert.True(t, depthOver(back.Experiment, MaxDepth-1))
	assert.True(t, depthOver(j.Run[0].Output, 4999))
}
