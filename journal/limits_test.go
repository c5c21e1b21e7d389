package journal

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func nested(depth int) any {
	var v any = "bottom"
	for i := 0; i < depth; i++ {
		v = []any{v}
	}
	return v
}

// TestEncodeClipsTooDeepValues: a Go provider's output nested past jsonvalue.MaxDepth does not
// stop the journal from being written; the part past the limit is replaced by CutMarker.
func TestEncodeClipsTooDeepValues(t *testing.T) {
	exp := jsonvalue.NewObject("title", "t", "x", nested(jsonvalue.MaxDepth-1))
	j := &Journal{Experiment: exp, Status: StatusCompleted, Run: []*Run{
		{Activity: jsonvalue.NewObject("name", "deep"), Output: nested(5000), Status: RunSucceeded},
		{Activity: jsonvalue.NewObject("name", "flat"), Output: "ok", Status: RunSucceeded},
	}}
	data, err := Encode(j)
	require.NoError(t, err)
	back, err := Parse(data)
	require.NoError(t, err)
	v := back.Run[0].Output
	for i := 0; i < jsonvalue.MaxDepth; i++ {
		a, ok := v.([]any)
		require.True(t, ok, "level %d", i)
		v = a[0]
	}
	assert.Equal(t, CutMarker, v)
	assert.Equal(t, "ok", back.Run[1].Output)
	// The experiment, at the limit, is written whole; the caller's journal is left alone.
	assert.False(t, depthOver(back.Experiment, jsonvalue.MaxDepth))
	assert.True(t, depthOver(back.Experiment, jsonvalue.MaxDepth-1))
	assert.True(t, depthOver(j.Run[0].Output, 4999))
}
