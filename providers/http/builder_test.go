package http_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/providers/http"
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
		call *http.Call
		want string
	}{
		{"get", http.Get("http://127.0.0.1:8080/"), `{"type":"http","url":"http://127.0.0.1:8080/"}`},
		{"get with timeout", http.Get("http://h/").Timeout(3 * time.Second), `{"type":"http","url":"http://h/","timeout":3}`},
		{"fractional timeout", http.Get("http://h/").Timeout(1500 * time.Millisecond), `{"type":"http","url":"http://h/","timeout":1.5}`},
		{"timeouts pair", http.Get("http://h/").Timeouts(time.Second, 250*time.Millisecond), `{"type":"http","url":"http://h/","timeout":[1,0.25]}`},
		{"post json", http.Post("http://h/").Header("Content-Type", "application/json").Arguments(map[string]any{"z": 1, "a": []string{"x"}}),
			`{"type":"http","url":"http://h/","method":"POST","headers":{"Content-Type":"application/json"},"arguments":{"a":["x"],"z":1}}`},
		{"request lower-case method", http.Request("delete", "http://h/").VerifyTLS(false).MaxRetries(2),
			`{"type":"http","url":"http://h/","method":"DELETE","verify_tls":false,"max_retries":2}`},
		{"request GET writes no method", http.Request("get", "http://h/"), `{"type":"http","url":"http://h/"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, jsonOf(t, tt.call.Object()))
			assert.NoError(t, http.Validate(tt.call.Object(), "x"))
		})
	}
}

func TestBuilderActivity(t *testing.T) {
	a := http.Get("http://h/").Timeout(3 * time.Second).Named("app-responds").Want(200)
	assert.Equal(t, `{"type":"probe","name":"app-responds","provider":{"type":"http","url":"http://h/","timeout":3},"tolerance":200}`, jsonOf(t, a.Object()))

	a = http.Post("http://h/").Want(chaostest.OneOf(200, 201))
	assert.Equal(t, `{"type":"probe","name":"","provider":{"type":"http","url":"http://h/","method":"POST"},"tolerance":{"type":"go","func":"chaostest.OneOf","values":[200,201]}}`, jsonOf(t, a.Object()))

	c := http.Get("http://h/")
	a1, a2 := c.Activity(), c.Named("second")
	a1.Object().Value("provider").(*jsonvalue.Object).Set("url", "changed")
	assert.Equal(t, "http://h/", a2.Object().Value("provider").(*jsonvalue.Object).Value("url"), "activities must not share their provider")
	assert.Equal(t, "http://h/", c.Object().Value("url"))
}

func TestBuilderArgumentsPanicsOnNonJSON(t *testing.T) {
	assert.PanicsWithValue(t, "http.Call.Arguments: arguments are not JSON: json: unsupported type: chan int",
		func() { http.Get("http://h/").Arguments(map[string]any{"c": make(chan int)}) })
}

func TestDo(t *testing.T) {
	srv := newTestServer(t)
	out, err := http.Post(srv.URL).Header("Content-Type", "application/json").Arguments(map[string]any{"n": 1}).Do(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(200), out.Value("status"))
	assert.Equal(t, `{"n": 1}`, out.Value("body"))
}
