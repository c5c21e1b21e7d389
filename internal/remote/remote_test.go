package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

type echoArgs struct {
	Text  string `arg:"text"`
	Count int    `arg:"count" default:"2"`
}

func init() {
	provider.Register("remotetest.echo", "Echo text, logging it.", func(ctx context.Context, env provider.Env, a echoArgs) (any, error) {
		env.Logf("echoing %s", a.Text)
		return map[string]any{"text": a.Text, "count": a.Count, "config": env.Configuration["k"], "secret": env.Secrets["s"]}, nil
	})
	provider.Register("remotetest.fail", "Fail.", func(ctx context.Context, env provider.Env, a struct{}) (any, error) {
		return nil, errors.New("it failed")
	})
	provider.Register("remotetest.crash", "Crash.", func(ctx context.Context, env provider.Env, a struct{}) (any, error) {
		return nil, provider.Crash(errors.New("bad request"))
	})
	provider.Register("remotetest.panic", "Panic.", func(ctx context.Context, env provider.Env, a struct{}) (any, error) {
		panic("boom")
	})
	provider.Register("remotetest.wait", "Wait for the context.", func(ctx context.Context, env provider.Env, a struct{}) (any, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("stopped: %w", ctx.Err())
	})
}

// TestMain makes the test binary the helper when asked: the client starts it as a real process.
func TestMain(m *testing.M) {
	if os.Getenv("REMOTE_TEST_HELPER") == "1" {
		if err := Serve(os.Stdin, os.Stdout, "v-test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newTestClient(t *testing.T, version string) *Client {
	t.Setenv("REMOTE_TEST_HELPER", "1")
	exe, err := os.Executable()
	require.NoError(t, err)
	return NewClient(func() (string, error) { return exe, nil }, version)
}

func TestCallsGoThroughAHelperProcess(t *testing.T) {
	c := newTestClient(t, "v-test")
	var logs []string
	env := provider.Env{Activity: "a", Configuration: map[string]any{"k": jsonvalue.NewObject("x", int64(1))},
		Secrets: map[string]any{"s": "pw"}, Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
	out, err := c.Call(context.Background(), "remotetest.echo", env, map[string]any{"text": "hi"})
	require.NoError(t, err)
	o, ok := out.(*jsonvalue.Object)
	require.True(t, ok, "%T", out)
	assert.Equal(t, []string{"config", "count", "secret", "text"}, o.Keys(), "a Go map comes back as the engine normalises it: sorted keys")
	assert.Equal(t, int64(2), o.Value("count"), "defaults bound in the helper, integers as int64")
	assert.Equal(t, int64(1), o.Value("config").(*jsonvalue.Object).Value("x"))
	assert.Equal(t, "pw", o.Value("secret"))
	assert.Equal(t, []string{"echoing hi"}, logs)

	_, err = c.Call(context.Background(), "remotetest.fail", env, nil)
	assert.EqualError(t, err, "it failed")
	var crash *provider.CrashError
	assert.False(t, errors.As(err, &crash))
	_, err = c.Call(context.Background(), "remotetest.crash", env, nil)
	require.True(t, errors.As(err, &crash), "a crash stays a crash")
	assert.EqualError(t, err, "bad request")
	_, err = c.Call(context.Background(), "remotetest.nope", env, nil)
	assert.EqualError(t, err, "chaostest-k8s does not implement remotetest.nope")
	assert.PanicsWithValue(t, remotePanic{value: "boom", stack: ""}, func() {
		defer func() {
			p := recover()
			rp := p.(remotePanic)
			assert.Contains(t, rp.stack, "goroutine", "the helper's stack comes along")
			rp.stack = ""
			panic(rp)
		}()
		_, _ = c.Call(context.Background(), "remotetest.panic", env, nil)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Call(ctx, "remotetest.wait", env, nil)
	assert.EqualError(t, err, "stopped: context canceled", "the helper cancels the call and its reply is waited for")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestHelperOfAnotherVersionIsRefused(t *testing.T) {
	c := newTestClient(t, "v-other")
	_, err := c.Call(context.Background(), "remotetest.echo", provider.Env{}, map[string]any{"text": "x"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `is "v-test", this chaostest is "v-other"`), err.Error())
}

func TestHelperThatDiesFailsTheCall(t *testing.T) {
	c := NewClient(func() (string, error) { return "/bin/sh", nil }, "v", "-c", `echo '{"hello":"v"}'; read line; exit 3`)
	_, err := c.Call(context.Background(), "remotetest.echo", provider.Env{}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the Kubernetes helper /bin/sh exited: exit status 3")
}
