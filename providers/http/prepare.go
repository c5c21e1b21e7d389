package http

import (
	"crypto/tls"
	"net/url"
	"strings"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// prepare reads and checks the provider object in the order requests does: url and method,
// query string, headers, body, scheme, TLS settings, retries, timeout. The first problem found
// is the one requests reports.
func prepare(env provider.Env, p *jsonvalue.Object) (*request, error) {
	r := &request{}
	if err := r.setURLAndMethod(env, p); err != nil {
		return nil, err
	}
	args := p.Value("arguments")
	if pyTruthy(args) && env.HasValues() {
		args = env.Substitute(args)
	}
	// lower is the url as given (trimmed), lower-cased: the scheme and TLS checks look at it.
	lower, err := r.prepareURL(args)
	if err != nil {
		return nil, err
	}
	if err := r.prepareHeaders(env.Substitute(p.Value("headers"))); err != nil {
		return nil, err
	}
	if err := r.prepareBody(args); err != nil {
		return nil, err
	}
	// Scheme (Session.get_adapter).
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return nil, crashf("No connection adapters were found for %s", pystr.Repr(r.target))
	}
	if err := r.prepareTLS(p, lower); err != nil {
		return nil, err
	}
	if r.retries, err = maxRetries(p); err != nil {
		return nil, err
	}
	// Timeout (HTTPAdapter.send, urllib3 Timeout).
	r.connect, r.read, err = parseTimeout(env.Substitute(p.Value("timeout")))
	if err != nil {
		return nil, provider.Crash(err)
	}
	return r, nil
}

// setURLAndMethod reads the url (substituted; it must be a string) and the method (GET by
// default, upper-cased), and notes whether the method is idempotent (retried on a reset).
func (r *request) setURLAndMethod(env provider.Env, p *jsonvalue.Object) error {
	rawURL := env.Substitute(p.Value("url"))
	u, ok := rawURL.(string)
	if !ok {
		return crashf("Invalid URL %s: the url must be a string, not %s", pystr.Repr(rawURL), jsonvalue.TypeName(rawURL))
	}
	r.url = u
	r.method = "GET"
	if m, ok := p.Get("method"); ok {
		s, isStr := m.(string)
		if !isStr {
			return crashf("http method must be a string, not %s %s", jsonvalue.TypeName(m), pystr.Repr(m))
		}
		r.method = strings.ToUpper(s)
	}
	switch r.method {
	case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE":
		r.idempot = true
	}
	return nil
}

// prepareURL sets the target (requests' PreparedRequest.prepare_url): a URL with a scheme and
// a host, with a GET's arguments added to its query string. A URL such as "mailto:x" is left as
// it is (the scheme check refuses it later). It returns the trimmed url lower-cased.
func (r *request) prepareURL(args any) (lower string, err error) {
	target := strings.TrimLeft(r.url, " \t\n\r\v\f")
	lower = strings.ToLower(target)
	r.target = target
	if strings.Contains(target, ":") && !strings.HasPrefix(lower, "http") {
		return lower, nil
	}
	pu, err := url.Parse(target)
	if err != nil {
		return "", crashf("Invalid URL %s: %v", pystr.Repr(r.url), err)
	}
	if pu.Scheme == "" {
		return "", crashf("Invalid URL %s: No scheme supplied. Perhaps you meant https://%s?", pystr.Repr(r.url), r.url)
	}
	if pu.Host == "" {
		return "", crashf("Invalid URL %s: No host supplied", pystr.Repr(r.url))
	}
	if r.method == "GET" {
		q, err := encodeParams(args)
		if err != nil {
			return "", provider.Crash(err)
		}
		if q != "" {
			if pu.RawQuery != "" {
				pu.RawQuery += "&" + q
			} else {
				pu.RawQuery = q
			}
		}
	}
	r.target = pu.String()
	return lower, nil
}

// prepareHeaders checks the substituted headers (prepare_headers): a mapping (anything falsy
// means none), names and values without leading whitespace or line breaks, values strings;
// null removes a header.
func (r *request) prepareHeaders(h any) error {
	if h == nil {
		return nil
	}
	obj, ok := h.(*jsonvalue.Object)
	if !ok {
		if pyTruthy(h) {
			return crashf("http headers must be a mapping, not %s %s", jsonvalue.TypeName(h), pystr.Repr(h))
		}
		return nil
	}
	for _, k := range obj.Keys() {
		v := obj.Value(k)
		if !validHeaderName().MatchString(k) {
			return crashf("Invalid leading whitespace, reserved character(s), or return character(s) in header name: %s", pystr.Repr(k))
		}
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return crashf("Header part (%s) from (%s, %s) must be of type str or bytes, not %s", pystr.Repr(v), pystr.Repr(k), pystr.Repr(v), pyTypeName(v))
		}
		if !validHeaderValue().MatchString(s) {
			return crashf("Invalid leading whitespace, reserved character(s), or return character(s) in header value: %s", pystr.Repr(s))
		}
	}
	r.headers = obj
	return nil
}

// prepareBody sets the body of a request other than GET (prepare_body): the arguments as JSON
// when the Content-Type header is application/json, otherwise form-encoded (a string is sent
// as it is, without a Content-Type).
func (r *request) prepareBody(args any) error {
	if r.method == "GET" {
		return nil
	}
	if ct, _ := r.headers.Value("Content-Type").(string); ct == "application/json" {
		if args != nil {
			var b strings.Builder
			if err := pyJSON(&b, args); err != nil {
				return provider.Crash(err)
			}
			r.body, r.hasBody = []byte(b.String()), true
		}
		return nil
	}
	if !pyTruthy(args) {
		return nil
	}
	s, err := encodeParams(args)
	if err != nil {
		return provider.Crash(err)
	}
	r.body, r.hasBody = []byte(s), true
	if _, raw := args.(string); !raw {
		r.ctype = "application/x-www-form-urlencoded"
	}
	return nil
}

// prepareTLS reads the TLS settings (HTTPAdapter.cert_verify, which looks at the CA bundle only
// for an https URL: for an http one the bundle is read when a redirect leads to https).
func (r *request) prepareTLS(p *jsonvalue.Object, lower string) error {
	if !strings.HasPrefix(lower, "https://") {
		r.lazyTLS = func() (*tls.Config, error) { return tlsConfig(p) }
		return nil
	}
	cfg, err := tlsConfig(p)
	if err != nil {
		return err
	}
	r.tls = cfg
	return nil
}

// maxRetries reads max_retries: an integer clamped to [0, 1000], true meaning 1, anything falsy 0.
func maxRetries(p *jsonvalue.Object) (int, error) {
	mr, ok := p.Get("max_retries")
	if !ok || !pyTruthy(mr) {
		return 0, nil
	}
	switch x := mr.(type) {
	case int64:
		return int(max(0, min(x, 1000))), nil
	case float64:
		return int(max(0, min(x, 1000))), nil
	case bool:
		return 1, nil
	}
	return 0, crashf("max_retries must be an integer, not %s %s", jsonvalue.TypeName(mr), pystr.Repr(mr))
}
