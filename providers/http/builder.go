package http

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Call builds an http provider in Go. Its methods change the call and return it, so they chain;
// Activity, Named and Want turn it into a chaostest activity:
//
//	http.Get(url).Timeout(3 * time.Second).Named("app-responds").Want(200)
//
// The provider object a Call writes is exactly what an experiment file would hold
// ({"type": "http", "url": ..., "timeout": 3}), so the journal reads the same either way.
type Call struct {
	p *jsonvalue.Object
}

// Get returns a GET request for url: {"type": "http", "url": url}.
func Get(url string) *Call {
	return &Call{p: jsonvalue.NewObject("type", TypeName, "url", url)}
}

// Post returns a POST request for url. Arguments are sent as a form unless a
// "Content-Type: application/json" header is set, then as JSON.
func Post(url string) *Call { return Request("POST", url) }

// Request returns a request with the given method (upper-cased; "method" is only written when
// it is not GET, the provider's default).
func Request(method, url string) *Call {
	c := Get(url)
	if m := strings.ToUpper(method); m != "GET" {
		c.p.Set("method", m)
	}
	return c
}

// Header sets a request header. The provider's "Content-Type" key decides between a JSON and a
// form body, so spell it that way.
func (c *Call) Header(name, value string) *Call {
	h, _ := c.p.Value("headers").(*jsonvalue.Object)
	if h == nil {
		h = &jsonvalue.Object{}
		c.p.Set("headers", h)
	}
	h.Set(name, value)
	return c
}

// Arguments sets the request's arguments: the query string of a GET, the body otherwise. Keys
// are written in sorted order. Values must be JSON-encodable; Arguments panics otherwise.
func (c *Call) Arguments(args map[string]any) *Call {
	b, err := json.Marshal(args)
	if err != nil {
		panic(fmt.Sprintf("http.Call.Arguments: arguments are not JSON: %v", err))
	}
	v, err := jsonvalue.Decode(b)
	if err != nil {
		panic(fmt.Sprintf("http.Call.Arguments: %v", err))
	}
	c.p.Set("arguments", v)
	return c
}

// Timeout bounds both connecting and each read by d (the provider's "timeout", in seconds).
// The activity then fails with "activity took too long to complete" when the server is slower.
func (c *Call) Timeout(d time.Duration) *Call {
	c.p.Set("timeout", pystr.Seconds(d))
	return c
}

// Timeouts sets separate connect and read timeouts ("timeout": [connect, read]).
func (c *Call) Timeouts(connect, read time.Duration) *Call {
	c.p.Set("timeout", []any{pystr.Seconds(connect), pystr.Seconds(read)})
	return c
}

// VerifyTLS turns certificate verification on (the default) or off ("verify_tls").
func (c *Call) VerifyTLS(verify bool) *Call {
	c.p.Set("verify_tls", verify)
	return c
}

// MaxRetries retries a failed connection up to n times ("max_retries").
func (c *Call) MaxRetries(n int) *Call {
	c.p.Set("max_retries", int64(n))
	return c
}

// A *Call is a chaostest.Step: it can be given wherever an activity is expected.
var _ chaostest.Step = (*Call)(nil)

// Object returns a copy of the provider object the call describes.
func (c *Call) Object() *jsonvalue.Object { return c.p.Clone() }

// Activity returns a probe running this request. Each call returns a new activity with its own
// copy of the provider.
func (c *Call) Activity() *chaostest.Activity {
	return chaostest.NewActivity(c.p.Clone())
}

// Named returns a probe running this request, named name.
func (c *Call) Named(name string) *chaostest.Activity { return c.Activity().Named(name) }

// Want returns a probe running this request whose output must meet tolerance (see
// chaostest.Activity.Want; an int matches the response status).
func (c *Call) Want(tolerance any) *chaostest.Activity { return c.Activity().Want(tolerance) }

// Do sends the request now, outside any experiment, and returns its output
// {status, headers, body}. Errors are those of Run.
func (c *Call) Do(ctx context.Context) (*jsonvalue.Object, error) {
	out, err := Run(ctx, provider.Env{}, c.p)
	if err != nil {
		return nil, err
	}
	return out.(*jsonvalue.Object), nil
}
