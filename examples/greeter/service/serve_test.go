package service

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenAddr(t *testing.T) {
	addr, err := ListenAddr("")
	require.NoError(t, err)
	assert.Equal(t, ":8080", addr)
	addr, err = ListenAddr("9090")
	require.NoError(t, err)
	assert.Equal(t, ":9090", addr)
	for _, bad := range []string{"0", "65536", "http", "80x", "-1", "080"} {
		_, err := ListenAddr(bad)
		assert.EqualError(t, err, `PORT: want a port number from 1 to 65535, got "`+bad+`"`)
	}
}

// TestServeShutsDownGracefully: once the context ends, Serve stops accepting connections, lets
// the in-flight request finish, and returns nil.
func TestServeShutsDownGracefully(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, 5*time.Second) }()

	type answer struct {
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + ln.Addr().String())
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{string(b), err}
	}()
	<-entered
	cancel()

	// New connections are refused once the listener is closed (bounded wait for Shutdown).
	refused := false
	for i := 0; i < 200 && !refused; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	require.True(t, refused, "want new connections refused after shutdown began")
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in flight; want it to wait", err)
	default:
	}

	close(release)
	a := <-answered
	require.NoError(t, a.err)
	assert.Equal(t, "finished", a.body)
	require.NoError(t, <-served)
}

func TestServeReportsRequestsOutlivingGrace(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, 50*time.Millisecond) }()
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + ln.Addr().String())
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	err = <-served
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in-flight requests still running after 50ms")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "want the deadline as cause, got %v", err)
}

func TestServeReportsListenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln.Close()
	err = Serve(context.Background(), ln, http.NotFoundHandler(), time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serving on "+ln.Addr().String())
}
