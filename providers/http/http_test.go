package http

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// provider parses a provider object written as JSON, with fmt verbs filled from args.
func provObj(t testing.TB, format string, args ...any) *jsonvalue.Object {
	t.Helper()
	var o jsonvalue.Object
	require.NoError(t, json.Unmarshal([]byte(fmt.Sprintf(format, args...)), &o))
	return &o
}

// toJSON renders a value the way the journal will.
func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// run runs a provider object with an empty environment.
func run(t testing.TB, p *jsonvalue.Object) (*jsonvalue.Object, error) {
	t.Helper()
	out, err := Run(context.Background(), provider.Env{}, p)
	if err != nil {
		require.Nil(t, out, "a failed run must return no output")
		return nil, err
	}
	o, ok := out.(*jsonvalue.Object)
	require.True(t, ok, "output is %T, want *jsonvalue.Object", out)
	return o, nil
}

// echoHandler answers every request with a JSON description of it.
func echoHandler(w nethttp.ResponseWriter, r *nethttp.Request) {
	body, _ := io.ReadAll(r.Body)
	out := map[string]any{
		"method":       r.Method,
		"query":        r.URL.RawQuery,
		"body":         string(body),
		"content_type": r.Header.Get("Content-Type"),
		"accept":       r.Header.Values("Accept"),
		"x_token":      r.Header.Get("X-Token"),
		"user_agent":   r.Header.Values("User-Agent"),
		"host":         r.Host,
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// newServer starts a loopback server with the routes the tests use.
func newServer(t testing.TB) *httptest.Server {
	t.Helper()
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/echo", echoHandler)
	mux.HandleFunc("/json-charset", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/json", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"z":1,"a":[true,null,1.5],"m":{"k":"v"}}`)
	})
	mux.HandleFunc("/bad-json", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `not json`)
	})
	mux.HandleFunc("/text-utf8", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "héllo")
	})
	mux.HandleFunc("/text-nocharset", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "héllo") // UTF-8 bytes, read as ISO-8859-1 like requests
	})
	mux.HandleFunc("/octets", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("h\xe9llo"))
	})
	mux.HandleFunc("/status/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		var code int
		_, _ = fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/status/"), "%d", &code)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "boom")
	})
	mux.HandleFunc("/headers", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header()["x-lower-case"] = []string{"kept"} // Go's client canonicalises it on read
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/gzip", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, `{"zipped":true}`)
		_ = zw.Close()
	})
	mux.HandleFunc("/redirect", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/echo?from=redirect", nethttp.StatusFound)
	})
	mux.HandleFunc("/loop", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/loop", nethttp.StatusFound)
	})
	mux.HandleFunc("/stall", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/stall-body", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "partial")
		w.(nethttp.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRegistered(t *testing.T) {
	pt, ok := provider.LookupProviderType("http")
	require.True(t, ok, "the http provider type is not registered")
	assert.Equal(t, "http", pt.Name)
	assert.NotNil(t, pt.Validate)
	assert.NotNil(t, pt.Run)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, provider, want string
	}{
		{"ok", `{"type":"http","url":"http://x"}`, ""},
		{"no url", `{"type":"http"}`, "a HTTP activity must have a URL"},
		{"empty url", `{"type":"http","url":""}`, "a HTTP activity must have a URL"},
		{"null url", `{"type":"http","url":null}`, "a HTTP activity must have a URL"},
		{"headers mapping", `{"type":"http","url":"http://x","headers":{"a":"b"}}`, ""},
		{"headers empty list is falsy", `{"type":"http","url":"http://x","headers":[]}`, ""},
		{"headers list", `{"type":"http","url":"http://x","headers":["a"]}`, "a HTTP activities expect headers as a mapping"},
		{"headers string", `{"type":"http","url":"http://x","headers":"a: b"}`, "a HTTP activities expect headers as a mapping"},
		{"unsubstituted url is fine", `{"type":"http","url":"${base}/x"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(provObj(t, "%s", tt.provider), "probe")
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestOutput(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name     string
		path     string
		status   int64
		wantBody any // a string, or JSON text for parsed bodies (wantJSON)
		wantJSON bool
	}{
		{"json body parsed, key order kept", "/json", 200, `{"z":1,"a":[true,null,1.5],"m":{"k":"v"}}`, true},
		{"json with charset stays text", "/json-charset", 200, `{"status":"ok"}`, false},
		{"text utf-8", "/text-utf8", 200, "héllo", false},
		{"text/* without charset is ISO-8859-1", "/text-nocharset", 200, "hÃ©llo", false},
		{"not text, not utf-8: latin-1", "/octets", 200, "héllo", false},
		{"500 is not an error", "/status/500", 500, "boom", false},
		{"404 is not an error", "/status/404", 404, "boom", false},
		{"gzip decoded", "/gzip", 200, `{"zipped":true}`, true},
		{"redirect followed", "/redirect", 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL+tt.path))
			require.NoError(t, err)
			assert.Equal(t, []string{"status", "headers", "body"}, out.Keys())
			assert.Equal(t, tt.status, out.Value("status"))
			assert.IsType(t, &jsonvalue.Object{}, out.Value("headers"))
			switch {
			case tt.path == "/redirect":
				body, ok := out.Value("body").(*jsonvalue.Object)
				require.True(t, ok, "body is %T", out.Value("body"))
				assert.Equal(t, "from=redirect", body.Value("query"))
			case tt.wantJSON:
				_, isObj := out.Value("body").(*jsonvalue.Object)
				assert.True(t, isObj, "body is %T, want a parsed JSON object", out.Value("body"))
				assert.Equal(t, tt.wantBody, toJSON(t, out.Value("body")))
			default:
				assert.Equal(t, tt.wantBody, out.Value("body"))
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	srv := newServer(t)
	out, err := run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL+"/headers"))
	require.NoError(t, err)
	h := out.Value("headers").(*jsonvalue.Object)
	// Names keep the server's spelling, as requests keeps them; they are sorted by name.
	assert.Equal(t, []string{"Content-Length", "Content-Type", "Date", "Set-Cookie", "x-lower-case"}, h.Keys())
	assert.Equal(t, "kept", h.Value("x-lower-case"))
	assert.Equal(t, "a=1, b=2", h.Value("Set-Cookie"), "repeated headers are joined as requests joins them")
	assert.Equal(t, "2", h.Value("Content-Length"))

	out, err = run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL+"/gzip"))
	require.NoError(t, err)
	h = out.Value("headers").(*jsonvalue.Object)
	assert.Equal(t, "gzip", h.Value("Content-Encoding"), "the server's Content-Encoding is kept, as requests keeps it")
}

func TestRequestShape(t *testing.T) {
	srv := newServer(t)
	echo := srv.URL + "/echo"
	tests := []struct {
		name     string
		provider string
		method   string
		query    string
		body     string
		ctype    string
	}{
		{"GET default", `{"type":"http","url":%q}`, "GET", "", "", ""},
		{"method upper-cased", `{"type":"http","url":%q,"method":"post"}`, "POST", "", "", ""},
		{"GET arguments as query, in order",
			`{"type":"http","url":%q,"arguments":{"z":"last word","a":1,"b":true,"c":null,"d":[1,"x",null],"e":1.0,"f":{"k1":1,"k2":2}}}`,
			"GET", "z=last+word&a=1&b=True&d=1&d=x&e=1.0&f=k1&f=k2", "", ""},
		{"GET arguments appended to the url's query", `{"type":"http","url":"%s?x=1","arguments":{"y":"2"}}`, "GET", "x=1&y=2", "", ""},
		{"GET arguments string kept", `{"type":"http","url":%q,"arguments":"raw=1&b"}`, "GET", "raw=1&b", "", ""},
		{"GET with JSON content type still uses the query", `{"type":"http","url":%q,"headers":{"Content-Type":"application/json"},"arguments":{"a":1}}`, "GET", "a=1", "", "application/json"},
		{"POST form", `{"type":"http","url":%q,"method":"POST","arguments":{"a":"1 2","b":["x","y"]}}`, "POST", "", "a=1+2&b=x&b=y", "application/x-www-form-urlencoded"},
		{"POST JSON when Content-Type is exactly application/json",
			`{"type":"http","url":%q,"method":"POST","headers":{"Content-Type":"application/json"},"arguments":{"a":1,"b":[true,null,2.0],"c":"é\"","d":{}}}`,
			"POST", "", `{"a": 1, "b": [true, null, 2.0], "c": "\u00e9\"", "d": {}}`, "application/json"},
		{"POST JSON empty object sent", `{"type":"http","url":%q,"method":"POST","headers":{"Content-Type":"application/json"},"arguments":{}}`, "POST", "", "{}", "application/json"},
		{"POST JSON without arguments: no body", `{"type":"http","url":%q,"method":"POST","headers":{"Content-Type":"application/json"}}`, "POST", "", "", "application/json"},
		{"lower-case content-type key means form", `{"type":"http","url":%q,"method":"POST","headers":{"content-type":"application/json"},"arguments":{"a":1}}`, "POST", "", "a=1", "application/json"},
		{"JSON with charset means form", `{"type":"http","url":%q,"method":"PUT","headers":{"Content-Type":"application/json; charset=utf-8"},"arguments":{"a":1}}`, "PUT", "", "a=1", "application/json; charset=utf-8"},
		{"POST string arguments sent raw without content type", `{"type":"http","url":%q,"method":"POST","arguments":"plain text"}`, "POST", "", "plain text", ""},
		{"POST empty arguments: no body", `{"type":"http","url":%q,"method":"POST","arguments":{}}`, "POST", "", "", ""},
		{"DELETE form", `{"type":"http","url":%q,"method":"DELETE","arguments":{"id":7}}`, "DELETE", "", "id=7", "application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, provObj(t, tt.provider, echo))
			require.NoError(t, err)
			got := out.Value("body").(*jsonvalue.Object)
			assert.Equal(t, tt.method, got.Value("method"))
			assert.Equal(t, tt.query, got.Value("query"))
			assert.Equal(t, tt.body, got.Value("body"))
			assert.Equal(t, tt.ctype, got.Value("content_type"))
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	srv := newServer(t)
	out, err := run(t, provObj(t, `{"type":"http","url":%q,"headers":{"X-Token":"s3cret","Accept":"text/plain","User-Agent":null}}`, srv.URL+"/echo"))
	require.NoError(t, err)
	got := out.Value("body").(*jsonvalue.Object)
	assert.Equal(t, "s3cret", got.Value("x_token"))
	assert.Equal(t, []any{"text/plain"}, got.Value("accept"), "a provider header replaces the default")
	assert.Nil(t, got.Value("user_agent"), "a null header removes it")

	out, err = run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL+"/echo"))
	require.NoError(t, err)
	got = out.Value("body").(*jsonvalue.Object)
	assert.Equal(t, []any{"*/*"}, got.Value("accept"), "requests sends Accept: */* by default")

	out, err = run(t, provObj(t, `{"type":"http","url":%q,"headers":{"Host":"example.test"}}`, srv.URL+"/echo"))
	require.NoError(t, err)
	assert.Equal(t, "example.test", out.Value("body").(*jsonvalue.Object).Value("host"))
}

// newTLSServer starts a loopback HTTPS server with a certificate no client trusts by default.
// Its handshake errors (our rejections of that certificate) are not logged.
func newTLSServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(echoHandler))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// refusedURL returns a loopback URL nothing listens on.
func refusedURL(t testing.TB) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr + "/health", addr
}

func TestConnectionErrors(t *testing.T) {
	u, addr := refusedURL(t)
	_, err := run(t, provObj(t, `{"type":"http","url":%q,"timeout":2}`, u))
	require.Error(t, err)
	var crash *provider.CrashError
	assert.False(t, errors.As(err, &crash), "a refused connection is an ActivityFailed, not a crash")
	assert.Equal(t, "failed to connect to "+u+": dial tcp "+addr+": connect: connection refused", err.Error())

	tlsSrv := newTLSServer(t)
	_, err = run(t, provObj(t, `{"type":"http","url":%q}`, tlsSrv.URL))
	require.Error(t, err)
	assert.False(t, errors.As(err, &crash))
	assert.True(t, strings.HasPrefix(err.Error(), "failed to connect to "+tlsSrv.URL+": tls: failed to verify certificate: x509: certificate signed by unknown authority"), "got %q", err)
}

func TestVerifyTLS(t *testing.T) {
	srv := newTLSServer(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	tests := []struct {
		name, verify, wantErr string
	}{
		{"default verifies", ``, "x509: certificate signed by unknown authority"},
		{"true verifies", `,"verify_tls":true`, "x509: certificate signed by unknown authority"},
		{"false skips", `,"verify_tls":false`, ""},
		{"CA bundle path", fmt.Sprintf(`,"verify_tls":%q`, caFile), ""},
		{"CA bundle directory", fmt.Sprintf(`,"verify_tls":%q`, filepath.Dir(caFile)), ""},
		{"missing CA bundle crashes", `,"verify_tls":"/nonexistent/ca.pem"`, "Could not find a suitable TLS CA certificate bundle, invalid path: /nonexistent/ca.pem"},
	}
	t.Setenv("REQUESTS_CA_BUNDLE", "")
	t.Setenv("CURL_CA_BUNDLE", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, provObj(t, `{"type":"http","url":%q%s}`, srv.URL, tt.verify))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(200), out.Value("status"))
		})
	}

	// As requests does, verify_tls true trusts the REQUESTS_CA_BUNDLE bundle when it is set.
	t.Setenv("REQUESTS_CA_BUNDLE", caFile)
	out, err := run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL))
	require.NoError(t, err)
	assert.Equal(t, int64(200), out.Value("status"))
}

func TestCrashes(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, provider, want string
	}{
		{"ftp scheme", `{"type":"http","url":"ftp://127.0.0.1/x"}`, "No connection adapters were found for 'ftp://127.0.0.1/x'"},
		{"host:port without scheme", `{"type":"http","url":"localhost:8080"}`, "No connection adapters were found for 'localhost:8080'"},
		{"httpx scheme", `{"type":"http","url":"httpx://127.0.0.1/"}`, "No connection adapters were found for 'httpx://127.0.0.1/'"},
		{"no scheme", `{"type":"http","url":"127.0.0.1/x"}`, "Invalid URL '127.0.0.1/x': No scheme supplied. Perhaps you meant https://127.0.0.1/x?"},
		{"no host", `{"type":"http","url":"http://"}`, "Invalid URL 'http://': No host supplied"},
		{"unsubstituted url", `{"type":"http","url":"${base}/x"}`, "Invalid URL '${base}/x': No scheme supplied. Perhaps you meant https://${base}/x?"},
		{"unsubstituted timeout", `{"type":"http","url":%q,"timeout":"${t}"}`, "Timeout value connect was ${t}, but it must be an int, float or None."},
		{"string timeout", `{"type":"http","url":%q,"timeout":"3"}`, "Timeout value connect was 3, but it must be an int, float or None."},
		{"zero timeout", `{"type":"http","url":%q,"timeout":0}`, "Attempted to set connect timeout to 0, but the timeout cannot be set to a value less than or equal to 0."},
		{"negative read timeout", `{"type":"http","url":%q,"timeout":[1,-0.5]}`, "Attempted to set read timeout to -0.5, but the timeout cannot be set to a value less than or equal to 0."},
		{"bool timeout", `{"type":"http","url":%q,"timeout":true}`, "Timeout cannot be a boolean value. It must be an int, float or None."},
		{"one-element timeout", `{"type":"http","url":%q,"timeout":[1]}`, "Invalid timeout (1,). Pass a (connect, read) timeout tuple, or a single float to set both timeouts to the same value."},
		{"three-element timeout", `{"type":"http","url":%q,"timeout":[1,2,3]}`, "Invalid timeout (1, 2, 3). Pass a (connect, read) timeout tuple, or a single float to set both timeouts to the same value."},
		{"header value not a string", `{"type":"http","url":%q,"headers":{"X-N":1}}`, "Header part (1) from ('X-N', 1) must be of type str or bytes, not int"},
		{"header value with newline", `{"type":"http","url":%q,"headers":{"X-N":"a\nb"}}`, `Invalid leading whitespace, reserved character(s), or return character(s) in header value: 'a\nb'`},
		{"header name with colon", `{"type":"http","url":%q,"headers":{"X:N":"a"}}`, `Invalid leading whitespace, reserved character(s), or return character(s) in header name: 'X:N'`},
		{"method not a string", `{"type":"http","url":%q,"method":1}`, "http method must be a string, not integer 1"},
		{"bad JSON response", `{"type":"http","url":"%s/bad-json"}`, "the response of " + srv.URL + "/bad-json says application/json but its body is not JSON: line 1, column 2: invalid character 'o' in literal null (expecting 'u')"},
		{"too many redirects", `{"type":"http","url":"%s/loop"}`, "Exceeded 30 redirects."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.provider
			if strings.Contains(p, "%") {
				p = fmt.Sprintf(p, srv.URL)
			}
			_, err := run(t, provObj(t, "%s", p))
			require.Error(t, err)
			var crash *provider.CrashError
			assert.True(t, errors.As(err, &crash), "want a provider.Crash error, got %T: %v", err, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestTimeouts(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, provider, want string
	}{
		{"read timeout", `{"type":"http","url":"%s/stall","timeout":0.2}`, "activity took too long to complete"},
		{"read timeout from the pair", `{"type":"http","url":"%s/stall","timeout":[5, 0.2]}`, "activity took too long to complete"},
		{"POST with retries: not retried, still a timeout", `{"type":"http","url":"%s/stall","method":"POST","timeout":0.2,"max_retries":2}`, "activity took too long to complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, provObj(t, tt.provider, srv.URL))
			require.Error(t, err)
			var crash *provider.CrashError
			assert.False(t, errors.As(err, &crash), "a timeout is an ActivityFailed, got a crash: %v", err)
			assert.Equal(t, tt.want, err.Error())
		})
	}

	// urllib3 retries a GET's read timeout when max_retries is set and then reports a
	// connection error; requests reports a timeout while reading the body the same way.
	for _, p := range []string{
		`{"type":"http","url":"%s/stall","timeout":0.2,"max_retries":1}`,
		`{"type":"http","url":"%s/stall-body","timeout":0.2}`,
	} {
		_, err := run(t, provObj(t, p, srv.URL))
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "failed to connect to "+srv.URL+"/stall"), "got %q", err)
		assert.Contains(t, err.Error(), "i/o timeout")
	}
}

// stalledConnectURL returns a loopback URL whose TCP connects hang: a socket listening with a
// backlog of 0 that never accepts, its queue already filled by one connection, so the kernel
// drops further SYNs.
func stalledConnectURL(t *testing.T) (string, string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = filler.Close() })
	return "http://" + addr + "/", addr
}

func TestConnectTimeout(t *testing.T) {
	u, addr := stalledConnectURL(t)
	var attempts atomic.Int64
	setDialFailed(t, func(int) { attempts.Add(1) })
	// requests' ConnectTimeout is a ConnectionError, so chaoslib reports "failed to connect".
	for _, tt := range []struct {
		provider string
		attempts int64
	}{
		{`{"type":"http","url":%q,"timeout":0.2}`, 1},
		{`{"type":"http","url":%q,"timeout":[0.2, 30]}`, 1},
		{`{"type":"http","url":%q,"timeout":0.1,"max_retries":2}`, 3},
	} {
		attempts.Store(0)
		_, err := run(t, provObj(t, tt.provider, u))
		require.Error(t, err)
		assert.Equal(t, "failed to connect to "+u+": dial tcp "+addr+": i/o timeout", err.Error())
		assert.Equal(t, tt.attempts, attempts.Load(), tt.provider)
	}

	// Cancelling the context stops a hanging connect, retries or not.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Run(ctx, provider.Env{}, provObj(t, `{"type":"http","url":%q,"max_retries":5}`, u))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestContextCancellation(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Run(ctx, provider.Env{}, provObj(t, `{"type":"http","url":"%s/stall"}`, srv.URL))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "http request to "+srv.URL+"/stall stopped: context canceled", err.Error())

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Run(ctx, provider.Env{}, provObj(t, `{"type":"http","url":"%s/stall-body"}`, srv.URL))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// setDialFailed installs the dial hook for one test.
func setDialFailed(t *testing.T, f func(attempt int)) {
	dialFailed = f
	t.Cleanup(func() { dialFailed = nil })
}

func TestMaxRetriesConnect(t *testing.T) {
	// A port that refuses the first two connections and then accepts: the listener is opened
	// after the second refused attempt.
	u, addr := refusedURL(t)
	var (
		failures atomic.Int64
		mu       sync.Mutex
		srv      *nethttp.Server
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			_ = srv.Close()
		}
	})
	setDialFailed(t, func(attempt int) {
		if failures.Add(1) != 2 {
			return
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("cannot listen on %s again: %v", addr, err)
			return
		}
		mu.Lock()
		srv = &nethttp.Server{Handler: nethttp.HandlerFunc(echoHandler)}
		mu.Unlock()
		go func() { _ = srv.Serve(l) }()
	})

	// Without retries the first refusal fails the activity.
	_, err := run(t, provObj(t, `{"type":"http","url":%q}`, u))
	require.Error(t, err)
	assert.Equal(t, "failed to connect to "+u+": dial tcp "+addr+": connect: connection refused", err.Error())
	assert.Equal(t, int64(1), failures.Load())

	// With two retries, the third attempt connects.
	out, err := run(t, provObj(t, `{"type":"http","url":%q,"max_retries":2}`, u))
	require.NoError(t, err)
	assert.Equal(t, int64(200), out.Value("status"))
	assert.Equal(t, int64(2), failures.Load())
}

func TestMaxRetriesExhausted(t *testing.T) {
	u, addr := refusedURL(t)
	var attempts atomic.Int64
	setDialFailed(t, func(int) { attempts.Add(1) })
	_, err := run(t, provObj(t, `{"type":"http","url":%q,"max_retries":3}`, u))
	require.Error(t, err)
	assert.Equal(t, "failed to connect to "+u+": dial tcp "+addr+": connect: connection refused", err.Error())
	assert.Equal(t, int64(4), attempts.Load(), "one attempt and three retries")
}

func TestMaxRetriesRead(t *testing.T) {
	// A server that drops the first two connections without answering.
	var hits atomic.Int64
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if hits.Add(1) <= 2 {
			conn, _, err := w.(nethttp.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		echoHandler(w, r)
	}))
	t.Cleanup(srv.Close)

	out, err := run(t, provObj(t, `{"type":"http","url":%q,"max_retries":2}`, srv.URL))
	require.NoError(t, err, "a GET is retried after a dropped connection")
	assert.Equal(t, int64(200), out.Value("status"))
	assert.Equal(t, int64(3), hits.Load())

	hits.Store(0)
	_, err = run(t, provObj(t, `{"type":"http","url":%q,"method":"POST","max_retries":2}`, srv.URL))
	require.Error(t, err, "a POST is not retried after the request was sent")
	assert.True(t, strings.HasPrefix(err.Error(), "failed to connect to "+srv.URL+": "), "got %q", err)
	assert.Equal(t, int64(1), hits.Load())

	hits.Store(0)
	_, err = run(t, provObj(t, `{"type":"http","url":%q}`, srv.URL))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "failed to connect to "+srv.URL+": "), "got %q", err)
	assert.Contains(t, err.Error(), "EOF")
}

func TestSubstitution(t *testing.T) {
	srv := newServer(t)
	env := provider.Env{Configuration: map[string]any{
		"base":    srv.URL,
		"token":   "s3cret",
		"n":       int64(42),
		"timeout": int64(5),
	}}
	p := provObj(t, `{"type":"http","url":"${base}/echo","method":"post","headers":{"X-Token":"${token}"},"arguments":{"n":"${n}","s":"n=${n}"},"timeout":"${timeout}"}`)
	before := toJSON(t, p)
	out, err := Run(context.Background(), env, p)
	require.NoError(t, err)
	got := out.(*jsonvalue.Object).Value("body").(*jsonvalue.Object)
	assert.Equal(t, "POST", got.Value("method"))
	assert.Equal(t, "s3cret", got.Value("x_token"))
	assert.Equal(t, "n=42&s=n%3D42", got.Value("body"))
	assert.Equal(t, before, toJSON(t, p), "the provider object must not be changed")

	// Without configuration or secrets the arguments are sent as written.
	p = provObj(t, `{"type":"http","url":"%s/echo","arguments":{"n":"${n}"}}`, srv.URL)
	out, err = Run(context.Background(), provider.Env{}, p)
	require.NoError(t, err)
	assert.Equal(t, "n=%24%7Bn%7D", out.(*jsonvalue.Object).Value("body").(*jsonvalue.Object).Value("query"))
}

func TestEncodeParams(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`null`, ""},
		{`{}`, ""},
		{`"a=b"`, "a=b"},
		{`{"a":"é &=+"}`, "a=%C3%A9+%26%3D%2B"},
		{`{"a":false,"b":0,"c":1e20,"d":0.1,"e":[[1,2],"x"]}`, "a=False&b=0&c=1e%2B20&d=0.1&e=1&e=2&e=x"},
		{`[["a",1],["b",null],["c","x"]]`, "a=1&c=x"},
	}
	for _, tt := range tests {
		v, err := jsonvalue.Decode([]byte(tt.in))
		require.NoError(t, err)
		got, err := encodeParams(v)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	_, err := encodeParams(int64(3))
	assert.EqualError(t, err, "cannot encode objects that are not 2-tuples: 3")
	_, err = encodeParams([]any{"a"})
	assert.EqualError(t, err, "cannot encode arguments ['a']: a list must hold [key, value] pairs")
}

func TestPyJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, `{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`},
		{`[1.0, 0.5, 1e16, 1e-5, -0.0]`, `[1.0, 0.5, 1e+16, 1e-05, -0.0]`},
		{`"tab\t nl\n quote\" back\\ é € 😀 \u007f \u0001"`, `"tab\t nl\n quote\" back\\ \u00e9 \u20ac \ud83d\ude00 \u007f \u0001"`},
		{`[]`, `[]`},
		{`{}`, `{}`},
	}
	for _, tt := range tests {
		v, err := jsonvalue.Decode([]byte(tt.in))
		require.NoError(t, err)
		var b strings.Builder
		require.NoError(t, pyJSON(&b, v))
		assert.Equal(t, tt.want, b.String())
	}
}

func TestPyJSONGoValues(t *testing.T) {
	var b strings.Builder
	require.NoError(t, pyJSON(&b, map[string]any{"b": 1, "a": []any{int(2), "x"}}))
	assert.Equal(t, `{"a": [2, "x"], "b": 1}`, b.String(), "plain maps are written with sorted keys")
	b.Reset()
	assert.EqualError(t, pyJSON(&b, []any{math.Inf(1)}), "Out of range float values are not JSON compliant: inf")
	assert.EqualError(t, pyJSON(&b, struct{}{}), "Object of type struct {} is not JSON serializable")
}

func TestDecodeText(t *testing.T) {
	tests := []struct {
		body, ctype, want string
	}{
		{"h\xc3\xa9", "text/html; charset=UTF-8", "hé"},
		{"h\xe9", "text/html; charset=utf-8", "h\ufffd"},
		{"h\xe9", "text/html; charset=\"ISO-8859-1\"", "hé"},
		{"h\xc3\xa9", "text/html", "hÃ©"},
		{"h\xc3\xa9", "application/json; charset=utf-8", "hé"},
		{"h\xc3\xa9", "application/json-seq", "hé"},
		{"h\xe9", "us-ascii-ish/x; charset=us-ascii", "h\ufffd"},
		{"h\xe9", "", "hé"},
		{"", "text/plain", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, decodeText([]byte(tt.body), tt.ctype), "%q as %q", tt.body, tt.ctype)
	}
}

func TestDecodeContent(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("hello"))
	require.NoError(t, zw.Close())
	got, _, err := decodeContent(gz.Bytes(), []string{"gzip"})
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	var zl bytes.Buffer
	zlw := zlib.NewWriter(&zl)
	_, _ = zlw.Write([]byte("zlib"))
	require.NoError(t, zlw.Close())
	got, _, err = decodeContent(zl.Bytes(), []string{"deflate"})
	require.NoError(t, err)
	assert.Equal(t, "zlib", string(got))
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed)
	_, _ = fw.Write([]byte("raw deflate"))
	require.NoError(t, fw.Close())
	got, _, err = decodeContent(raw.Bytes(), []string{"deflate"})
	require.NoError(t, err)
	assert.Equal(t, "raw deflate", string(got), "deflate without the zlib header is accepted")
	var both bytes.Buffer
	zw = gzip.NewWriter(&both)
	_, _ = zw.Write(zl.Bytes())
	require.NoError(t, zw.Close())
	got, _, err = decodeContent(both.Bytes(), []string{"deflate, gzip"})
	require.NoError(t, err)
	assert.Equal(t, "zlib", string(got), "encodings are undone last first")
	got, _, err = decodeContent([]byte("plain"), []string{"br"})
	require.NoError(t, err)
	assert.Equal(t, "plain", string(got), "unknown encodings are left alone")
	_, _, err = decodeContent([]byte("not gzip"), []string{"gzip"})
	assert.EqualError(t, err, "Received response with content-encoding: gzip, but failed to decode it: unexpected EOF")
}
