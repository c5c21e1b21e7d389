package process_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/providers/process"
)

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestBuilderJSON(t *testing.T) {
	tests := []struct {
		name string
		call *process.Call
		want string
	}{
		{"command without arguments", process.Command("true"), `{"type":"process","path":"true"}`},
		{"command", process.Command("echo", "a b", "c"), `{"type":"process","path":"echo","arguments":["a b","c"]}`},
		{"shell", process.Shell("echo", "$HOME | wc -c"), `{"type":"process","path":"echo","arguments":"$HOME | wc -c"}`},
		{"timeout", process.Command("sleep", "1").Timeout(2 * time.Second), `{"type":"process","path":"sleep","arguments":["1"],"timeout":2}`},
		{"fractional timeout", process.Command("true").Timeout(250 * time.Millisecond), `{"type":"process","path":"true","timeout":0.25}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, jsonOf(t, tt.call.Object()))
			assert.NoError(t, process.Validate(tt.call.Object(), "x"))
		})
	}
}

func TestBuilderActivity(t *testing.T) {
	a := process.Command("true").Timeout(time.Second).Named("true-works").Want(0)
	assert.Equal(t, `{"type":"probe","name":"true-works","provider":{"type":"process","path":"true","timeout":1},"tolerance":0}`, jsonOf(t, a.Object()))

	a = process.Command("true").Want(0)
	assert.Equal(t, `{"type":"probe","name":"","provider":{"type":"process","path":"true"},"tolerance":0}`, jsonOf(t, a.Object()))

	c := process.Command("true")
	a1, a2 := c.Activity(), c.Activity()
	a1.Object().Value("provider").(*jsonvalue.Object).Set("path", "changed")
	assert.Equal(t, "true", a2.Object().Value("provider").(*jsonvalue.Object).Value("path"), "activities must not share their provider")
}

func TestDo(t *testing.T) {
	out, err := process.Shell("echo", "hi; exit 4").Do(context.Background())
	require.NoError(t, err)
	assert.Equal(t, `{"status":4,"stdout":"hi\n","stderr":""}`, jsonOf(t, out))

	_, err = process.Command("sleep", "5").Timeout(100 * time.Millisecond).Do(context.Background())
	assert.EqualError(t, err, "process activity took too long to complete")
}
