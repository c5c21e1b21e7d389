package http_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chaostest/chaostest/providers/http"
)

// newTestServer starts a loopback server that answers with the request's body as text.
func newTestServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A steady-state probe: the application must answer 200 within three seconds.
func ExampleGet() {
	probe := http.Get("http://127.0.0.1:8080/health").Timeout(3 * time.Second).Named("app-responds").Want(200)
	b, _ := probe.Object().MarshalJSON()
	fmt.Println(string(b))
	// Output:
	// {"type":"probe","name":"app-responds","provider":{"type":"http","url":"http://127.0.0.1:8080/health","timeout":3},"tolerance":200}
}

// Calling an endpoint directly, outside an experiment, returns the output a probe would record.
func ExampleCall_Do() {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	defer srv.Close()

	out, err := http.Get(srv.URL).Timeout(time.Second).Do(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := out.Value("body").(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON()
	fmt.Println(out.Value("status"), string(body))
	// Output:
	// 200 {"status":"ok"}
}
