// Package http implements Chaos Toolkit's built-in "http" provider type, so experiment files
// with {"type": "http", "url": ...} providers run unchanged, and gives Go tests typed builders
// for the same providers:
//
//	http.Get(url).Timeout(3 * time.Second).Named("app-responds").Want(200)
//
// Importing the package (even as _) registers the "http" provider type with chaostest.
//
// # Behaviour (chaoslib/provider/http.py with the requests library)
//
// The provider object is {type, url, method="GET", headers?, arguments?, timeout?,
// verify_tls=true, max_retries=0}.
//
//   - url, headers and timeout are substituted (${name}); arguments only when the run has
//     configuration or secrets; method never, and it is upper-cased.
//   - GET sends arguments as the query string (appended to a query already in the url). Other
//     methods send them as a JSON body when the provider's "Content-Type" header (that exact key)
//     is exactly "application/json", as a form body otherwise. JSON bodies are encoded as
//     Python's json.dumps does (", " and ": " separators, non-ASCII escaped).
//   - timeout is a number of seconds used for both connecting and each read, or a
//     [connect, read] pair; either may be null (no limit). Without it there is no limit but the
//     context.
//   - verify_tls false skips certificate checks; a string is a CA bundle (PEM file) to trust.
//     When it is true, the REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE bundle is used if set.
//   - max_retries n retries failed connections (TCP connect and TLS handshake) up to n times, as
//     requests' HTTPAdapter does. Like urllib3, it then also retries read errors (a read
//     timeout, a connection closed before the response) of idempotent methods (GET, HEAD, PUT,
//     DELETE, OPTIONS, TRACE); when those retries run out the error reads "failed to connect".
//   - Redirects are followed (at most 30).
//
// The output is an ordered object {status, headers, body}. body is the JSON value of the
// response when its Content-Type (the header name in any case, as requests' CaseInsensitiveDict)
// is exactly "application/json" ("; charset=utf-8" does not count) and its text otherwise (charset from Content-Type; text/* without a charset as
// ISO-8859-1, as requests does; otherwise UTF-8 when valid, else Latin-1). A 4xx or 5xx status
// is not an error.
//
// Header names are journaled as the server spelt them ("Content-type" stays "Content-type"), so
// a jsonpath tolerance on $.headers['Content-type'] matches as it does with Chaos Toolkit.
//
// Errors: a connection that cannot be made (refused, TLS failure, reset) or a response cut short
// (reset mid-body, closed before Content-Length bytes) fails the activity with
// "failed to connect to <url>: <error>"; a read timeout with "activity took too long to
// complete". Errors requests raises as something else (a bad scheme or url, a malformed header,
// an unsubstituted or bad timeout, a JSON response that does not parse, too many redirects) are
// provider.Crash errors, which abort the run as in Chaos Toolkit. Cancelling the context stops
// the request; the error then wraps ctx.Err().
//
// # Where chaostest differs from Chaos Toolkit
//
//   - Response headers are sorted by name where requests keeps the server's order (their names
//     keep the server's spelling, the first one seen for a repeated header, as urllib3 does).
//     Repeated headers are joined with ", " as requests does.
//   - Request header names are sent in Go's canonical form too (HTTP header names are
//     case-insensitive, so servers see no difference).
//   - The text after "failed to connect to <url>: " is Go's error ("dial tcp 127.0.0.1:1:
//     connect: connection refused"), not urllib3's ("HTTPConnectionPool(host=...): Max retries
//     exceeded ...").
//   - Charsets other than UTF-8, ASCII and Latin-1 are decoded as UTF-8 with replacement
//     characters; where requests would guess a charset (no charset, not text/*), chaostest
//     takes UTF-8 when the bytes are valid UTF-8 and Latin-1 otherwise.
//   - The User-Agent is Go's unless the provider sets one.
//   - No warning is logged for a status above 399.
package http

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	nethttp "net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chaostest/chaostest/internal/capped"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/internal/reuse"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// TypeName is the provider type this package registers.
const TypeName = "http"

func init() {
	provider.RegisterProviderType(provider.ProviderType{Name: TypeName, Validate: Validate, Run: Run})
}

// Validate checks an http provider object as chaoslib's validate_http_activity does: it must
// have a (truthy) url, and headers, when given, must be a mapping. activity is unused; it is
// there to match provider.ProviderType.
func Validate(prov *jsonvalue.Object, activity string) error {
	if !pyTruthy(prov.Value("url")) {
		return errors.New("a HTTP activity must have a URL")
	}
	if h := prov.Value("headers"); pyTruthy(h) {
		if _, ok := h.(*jsonvalue.Object); !ok {
			return errors.New("a HTTP activities expect headers as a mapping")
		}
	}
	return nil
}

// request is a provider object turned into Go values.
type request struct {
	url     string // the substituted url, as given (used in error messages)
	target  string // url with the query string added
	method  string
	headers *jsonvalue.Object // substituted provider headers, nil when none
	body    []byte
	hasBody bool
	ctype   string // Content-Type to add when the provider sets none
	connect time.Duration
	read    time.Duration
	tls     *tls.Config
	lazyTLS func() (*tls.Config, error) // for an http URL: the TLS settings of a redirect to https
	retries int
	idempot bool
}

// Run executes an http provider object: it substitutes the keys Chaos Toolkit substitutes,
// sends the request and returns {status, headers, body} as an ordered *jsonvalue.Object. See the
// package documentation for the rules and the errors.
func Run(ctx context.Context, env provider.Env, prov *jsonvalue.Object) (any, error) {
	req, err := prepare(env, prov)
	if err != nil {
		return nil, err
	}
	return req.do(ctx)
}

func crashf(format string, args ...any) error {
	return provider.Crash(fmt.Errorf(format, args...))
}

// The header checks of requests (utils._HEADER_VALIDATORS for str).
var (
	validHeaderName  = lazyRegexp(`^[^:\s][^:\r\n]*$`)
	validHeaderValue = lazyRegexp(`^\S[^\r\n]*$|^$`)
)

// pyTypeName names a JSON value's Python type, for messages that quote Python's.
func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	}
	return "dict"
}

// tlsConfig returns the TLS settings for verify_tls: a bool, or a CA bundle path.
func tlsConfig(p *jsonvalue.Object) (*tls.Config, error) {
	v, ok := p.Get("verify_tls")
	if !ok || v == nil {
		v = true
	}
	if v == true {
		for _, env := range []string{"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"} {
			if path := os.Getenv(env); path != "" {
				v = path
				break
			}
		}
	}
	path, isPath := v.(string)
	if !isPath {
		if !pyTruthy(v) {
			return &tls.Config{InsecureSkipVerify: true}, nil //nolint:gosec // verify_tls: false asks for it
		}
		return &tls.Config{}, nil
	}
	pool, err := loadCAs(path)
	if err != nil {
		return nil, provider.Crash(err)
	}
	return &tls.Config{RootCAs: pool}, nil
}

// caCache keeps the CA pools read from bundles, by path, size and modification time, so a
// probe repeated in a loop does not parse the same bundle each time.
var caCache sync.Map // caKey -> *x509.CertPool

type caKey struct {
	path  string
	size  int64
	mtime time.Time
}

// loadCAs reads a CA bundle: a PEM file, or a directory of PEM files.
func loadCAs(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("Could not find a suitable TLS CA certificate bundle, invalid path: %s", path)
	}
	key := caKey{path, st.Size(), st.ModTime()}
	if p, ok := caCache.Load(key); ok {
		return p.(*x509.CertPool), nil
	}
	files := []string{path}
	if st.IsDir() {
		files = files[:0]
		entries, _ := os.ReadDir(path)
		for _, e := range entries {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	pool := x509.NewCertPool()
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			pool.AppendCertsFromPEM(b)
		}
	}
	caCache.Store(key, pool)
	return pool, nil
}

// parseTimeout reads a requests timeout: a number for both phases, or a [connect, read] pair.
// Zero means no limit. The messages are urllib3's and requests'.
func parseTimeout(v any) (connect, read time.Duration, err error) {
	switch x := v.(type) {
	case nil:
		return 0, 0, nil
	case []any:
		if len(x) != 2 {
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = pystr.Repr(e)
			}
			tuple := "(" + strings.Join(parts, ", ") + ")"
			if len(x) == 1 {
				tuple = "(" + parts[0] + ",)"
			}
			return 0, 0, fmt.Errorf("Invalid timeout %s. Pass a (connect, read) timeout tuple, or a single float to set both timeouts to the same value.", tuple)
		}
		if connect, err = timeoutValue("connect", x[0]); err != nil {
			return 0, 0, err
		}
		read, err = timeoutValue("read", x[1])
		return connect, read, err
	}
	if connect, err = timeoutValue("connect", v); err != nil {
		return 0, 0, err
	}
	return connect, connect, nil
}

// timeoutValue is urllib3's Timeout._validate_timeout.
func timeoutValue(name string, v any) (time.Duration, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return 0, nil
	case bool:
		return 0, errors.New("Timeout cannot be a boolean value. It must be an int, float or None.")
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, fmt.Errorf("Timeout value %s was %s, but it must be an int, float or None.", name, pystr.Str(v))
	}
	if f <= 0 || math.IsNaN(f) {
		return 0, fmt.Errorf("Attempted to set %s timeout to %s, but the timeout cannot be set to a value less than or equal to 0.", name, pystr.Str(v))
	}
	if f >= float64(math.MaxInt64/int64(time.Second)) {
		return 0, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}

// encodeParams is requests' RequestEncodingMixin._encode_params followed by
// urllib.parse.urlencode(doseq=True): a string is kept as it is; a mapping (or a list of
// [key, value] pairs) becomes k=v&... where a list value repeats the key, a mapping value
// gives its keys, null values are dropped and other values are str()'d.
func encodeParams(v any) (string, error) {
	var pairs [][2]any
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case *jsonvalue.Object:
		for _, k := range x.Keys() {
			pairs = append(pairs, [2]any{k, x.Value(k)})
		}
	case []any:
		for _, e := range x {
			kv, ok := e.([]any)
			if !ok || len(kv) != 2 {
				return "", fmt.Errorf("cannot encode arguments %s: a list must hold [key, value] pairs", pystr.Repr(v))
			}
			pairs = append(pairs, [2]any{kv[0], kv[1]})
		}
	default:
		return "", fmt.Errorf("cannot encode objects that are not 2-tuples: %s", pystr.Repr(v))
	}
	var b strings.Builder
	add := func(k, val string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(val))
	}
	for _, kv := range pairs {
		k := pystr.Str(kv[0])
		var items []any
		switch vs := kv[1].(type) {
		case []any:
			items = vs
		case *jsonvalue.Object:
			for _, key := range vs.Keys() {
				items = append(items, key)
			}
		default:
			items = []any{vs}
		}
		for _, it := range items {
			switch y := it.(type) {
			case nil:
			case []any:
				for _, e := range y {
					add(k, pystr.Str(e))
				}
			case *jsonvalue.Object:
				for _, key := range y.Keys() {
					add(k, key)
				}
			default:
				add(k, pystr.Str(y))
			}
		}
	}
	return b.String(), nil
}

// connError marks a connection that could not be made (TCP connect or TLS handshake), after
// the retries max_retries allows.
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// redirectError is returned by CheckRedirect after 30 redirects.
type redirectError struct{}

func (redirectError) Error() string { return "Exceeded 30 redirects." }

// dialFailed, when set (by tests), is called after each failed connection attempt with the
// attempt's number, starting at 0.
var dialFailed func(attempt int)

// call holds the state of one request: the retry budget shared by connection and read retries.
type call struct {
	*request
	left     atomic.Int64 // retries left
	attempts atomic.Int64 // connection attempts made

	mu   sync.Mutex
	last *headerConn // the latest connection: the final response is read from it
}

// record wraps a new connection so that its response's header names are kept as sent.
func (c *call) record(conn net.Conn) net.Conn {
	hc := &headerConn{Conn: conn}
	c.mu.Lock()
	c.last = hc
	c.mu.Unlock()
	return hc
}

// gotConn notes the connection a request goes out on; a kept connection forgets the header
// names of its previous response.
func (c *call) gotConn(info httptrace.GotConnInfo) {
	hc, ok := info.Conn.(*headerConn)
	if !ok {
		return
	}
	if info.Reused {
		hc.reset()
	}
	c.mu.Lock()
	c.last = hc
	c.mu.Unlock()
}

func (c *call) lastConn() *headerConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// deadlineConn sets a read deadline before each read, so a read timeout bounds every wait for
// data as a socket timeout does in Python.
type deadlineConn struct {
	net.Conn
	timeout atomic.Int64 // nanoseconds; 0 for none
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if d := time.Duration(c.timeout.Load()); d > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	return c.Conn.Read(b)
}

// dialOnce opens one TCP connection (and does the TLS handshake when cfg is not nil).
func (c *call) dialOnce(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	c.attempts.Add(1)
	d := net.Dialer{Timeout: c.connect, KeepAlive: -1} // urllib3 sets no TCP keep-alive
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, &connError{err}
	}
	conn := &deadlineConn{Conn: raw}
	if cfg == nil {
		conn.timeout.Store(int64(c.read))
		return c.record(conn), nil
	}
	conn.timeout.Store(int64(c.connect))
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// urllib3 reports a handshake timeout as a read timeout.
			return nil, err
		}
		return nil, &connError{err}
	}
	conn.timeout.Store(int64(c.read))
	return c.record(tc), nil
}

// dial retries dialOnce while the budget allows, as urllib3 retries connection errors.
func (c *call) dial(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		conn, err := c.dialOnce(ctx, network, addr, cfg)
		var ce *connError
		if err == nil || !errors.As(err, &ce) || ctx.Err() != nil {
			return conn, err
		}
		if f := dialFailed; f != nil {
			f(attempt)
		}
		if c.left.Add(-1) < 0 {
			return nil, err
		}
	}
}

// callKey is the context key under which a request's dial functions find its call.
type callKey struct{}

// callOf returns the call a dial belongs to (dials run under the request's context values).
func callOf(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// newTransport returns a transport whose dials go through the call found in their context.
// keepAlive keeps connections for the next request (continuous checks, see internal/reuse);
// otherwise every request has its own connection, as Chaos Toolkit's session per activity.
func newTransport(cfg *tls.Config, connect time.Duration, keepAlive bool) *nethttp.Transport {
	return &nethttp.Transport{
		Proxy: nethttp.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return callOf(ctx).dial(ctx, network, addr, nil)
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c := callOf(ctx)
			cfg := c.tls
			if cfg == nil {
				var err error
				if cfg, err = c.lazyTLS(); err != nil {
					return nil, err
				}
			}
			return c.dial(ctx, network, addr, cfg)
		},
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: connect,
		DisableKeepAlives:   !keepAlive,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
	}
}

// pooled is a keep-alive transport kept in a reuse scope.
type pooled struct{ tr *nethttp.Transport }

func (p pooled) Close() error { p.tr.CloseIdleConnections(); return nil }

// poolKey tells apart the transports a reuse scope keeps: what a transport fixes for all its
// requests (timeouts and TLS settings).
type poolKey struct {
	connect, read time.Duration
	insecure      bool
	roots         any
}

// transport returns the transport for r: a kept keep-alive one inside a reuse scope, else a new
// one (with close, which ends it) that opens one connection for this request.
func (r *request) transport(ctx context.Context) (tr *nethttp.Transport, done func()) {
	key := poolKey{connect: r.connect, read: r.read}
	if r.tls != nil {
		key.insecure, key.roots = r.tls.InsecureSkipVerify, r.tls.RootCAs
	}
	if v := reuse.Get(ctx, key, func() io.Closer { return pooled{newTransport(r.tls, r.connect, true)} }); v != nil {
		return v.(pooled).tr, func() {}
	}
	tr = newTransport(r.tls, r.connect, false)
	return tr, tr.CloseIdleConnections
}

// do sends the request and builds the output.
func (r *request) do(ctx context.Context) (any, error) {
	c := &call{request: r}
	c.left.Store(int64(r.retries))
	tr, done := r.transport(ctx)
	defer done()
	ctx = context.WithValue(ctx, callKey{}, c)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: c.gotConn})
	client := &nethttp.Client{
		Transport: tr,
		CheckRedirect: func(req *nethttp.Request, via []*nethttp.Request) error {
			if len(via) > 30 {
				return redirectError{}
			}
			return nil
		},
	}
	for {
		resp, err := c.send(ctx, client)
		if err == nil {
			return r.output(ctx, resp, c.lastConn())
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("http request to %s stopped: %w", r.url, ctx.Err())
		}
		var (
			ce *connError
			re redirectError
			ue *url.Error
		)
		switch {
		case errors.As(err, &re):
			return nil, provider.Crash(re)
		case errors.As(err, &ce):
			return nil, fmt.Errorf("failed to connect to %s: %w", r.url, ce.err)
		case c.attempts.Load() == 0:
			// Nothing was sent: the request itself is at fault.
			return nil, provider.Crash(err)
		}
		inner := err
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		// A read error. urllib3 retries it for idempotent methods when max_retries is set, and
		// reports it as a connection error once the retries are spent.
		if r.retries > 0 && r.idempot {
			if c.left.Add(-1) >= 0 {
				continue
			}
			return nil, fmt.Errorf("failed to connect to %s: %w", r.url, inner)
		}
		if isTimeout(err) {
			return nil, errors.New("activity took too long to complete")
		}
		return nil, fmt.Errorf("failed to connect to %s: %w", r.url, inner)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// send builds the net/http request and sends it.
func (r *request) send(ctx context.Context, client *nethttp.Client) (*nethttp.Response, error) {
	var body io.Reader
	if r.hasBody {
		body = bytes.NewReader(r.body)
	}
	req, err := nethttp.NewRequestWithContext(ctx, r.method, r.target, body)
	if err != nil {
		return nil, provider.Crash(err)
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	for _, k := range r.headers.Keys() {
		v := r.headers.Value(k)
		if strings.EqualFold(k, "Host") {
			if s, ok := v.(string); ok {
				req.Host = s
			}
			continue
		}
		if v == nil {
			req.Header.Del(k)
			if strings.EqualFold(k, "User-Agent") {
				req.Header.Set("User-Agent", "")
			}
			continue
		}
		req.Header.Set(k, v.(string))
	}
	return client.Do(req)
}

// output reads the response into {status, headers, body}.
// A body that cannot be read whole (the connection reset or closed before Content-Length bytes,
// a read timeout) fails the activity as a connection error: the server did not answer.
func (r *request) output(ctx context.Context, resp *nethttp.Response, conn *headerConn) (any, error) {
	defer resp.Body.Close()
	raw, rawCut, err := capped.ReadAll(resp.Body) // at most capped.Max bytes are held
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("http request to %s stopped: %w", r.url, ctx.Err())
		default:
			// requests turns a read timeout while reading the body into a ConnectionError; a
			// body cut short (reset, or closed before Content-Length bytes) fails the same way.
			return nil, fmt.Errorf("failed to connect to %s: %w", r.url, err)
		}
	}
	headers := &jsonvalue.Object{}
	keys := make([]string, 0, len(resp.Header)+1)
	for k := range resp.Header {
		keys = append(keys, k)
	}
	if len(resp.TransferEncoding) > 0 && resp.Header["Transfer-Encoding"] == nil {
		keys = append(keys, "Transfer-Encoding")
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := resp.Header[k]
		if k == "Transfer-Encoding" && vals == nil {
			vals = resp.TransferEncoding
		}
		headers.Set(conn.spelling(k), strings.Join(vals, ", "))
	}
	content, decodedCut, err := decodeContent(raw, resp.Header.Values("Content-Encoding"))
	if err != nil && !(rawCut && capped.IsUnexpectedEOF(err)) { // a cut compressed body ends early
		return nil, provider.Crash(err)
	}
	cut := rawCut || decodedCut
	ct := strings.Join(resp.Header.Values("Content-Type"), ", ")
	var body any
	if cut {
		body = decodeText(content, ct) // a cut JSON body is kept as its text
		out := jsonvalue.NewObject("status", int64(resp.StatusCode), "headers", headers, "body", body)
		size := int64(-1)
		if !decodedCut && len(resp.Header.Values("Content-Encoding")) == 0 && resp.ContentLength > 0 {
			size = resp.ContentLength
		}
		capped.Record(out, "body", len(content), size)
		return out, nil
	}
	if ct == "application/json" {
		body, err = jsonvalue.Decode(content)
		if err != nil {
			return nil, crashf("the response of %s says application/json but its body is not JSON: %v", r.url, err)
		}
	} else {
		body = decodeText(content, ct)
	}
	return jsonvalue.NewObject("status", int64(resp.StatusCode), "headers", headers, "body", body), nil
}

// decodeContent undoes the gzip and deflate Content-Encodings urllib3 decodes, last applied
// first; other encodings are left alone. At most capped.Max decoded bytes are kept: cut says
// there were more. The error of a stream that ends early comes with what was decoded of it.
func decodeContent(b []byte, encodings []string) ([]byte, bool, error) {
	var list []string
	for _, e := range encodings {
		for _, p := range strings.Split(e, ",") {
			switch p = strings.ToLower(strings.TrimSpace(p)); p {
			case "gzip", "x-gzip", "deflate":
				list = append(list, p)
			}
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		var (
			out []byte
			err error
		)
		var cut bool
		if list[i] == "deflate" {
			var zr io.ReadCloser
			if zr, err = zlib.NewReader(bytes.NewReader(b)); err == nil {
				out, cut, err = capped.ReadAll(zr)
			}
			if err != nil && len(out) == 0 { // raw deflate without the zlib header, as urllib3 accepts
				out, cut, err = capped.ReadAll(flate.NewReader(bytes.NewReader(b)))
			}
		} else {
			var gr *gzip.Reader
			if gr, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
				out, cut, err = capped.ReadAll(gr)
			}
		}
		if err != nil {
			return out, false, fmt.Errorf("Received response with content-encoding: %s, but failed to decode it: %w", list[i], err)
		}
		if cut {
			return out, true, nil // a decompression bomb stops here
		}
		b = out
	}
	return b, false, nil
}

// decodeText is requests' Response.text: the charset of the Content-Type, ISO-8859-1 for text
// types without one, UTF-8 for application/json; otherwise UTF-8 when valid, else Latin-1.
func decodeText(b []byte, contentType string) string {
	charset := ""
	if contentType != "" {
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
		}
		if cs, ok := params["charset"]; ok {
			charset = strings.ToLower(strings.Trim(cs, `'"`))
		} else if strings.Contains(mt, "text") {
			charset = "iso-8859-1"
		} else if strings.Contains(mt, "application/json") {
			charset = "utf-8"
		}
	}
	switch charset {
	case "":
		if utf8.Valid(b) {
			return string(b)
		}
		return latin1(b)
	case "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "iso_8859_1", "8859", "cp819":
		return latin1(b)
	case "ascii", "us-ascii", "646":
		var s strings.Builder
		for _, c := range b {
			if c < 0x80 {
				s.WriteByte(c)
			} else {
				s.WriteRune(utf8.RuneError)
			}
		}
		return s.String()
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		s.WriteRune(r)
		b = b[n:]
	}
	return s.String()
}

func latin1(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// lazyRegexp compiles expr on first use, so that package initialisation stays cheap for
// commands that never need it (chaostest version starts in a few milliseconds).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
