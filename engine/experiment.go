package engine

import (
	"context"
	"errors"
	"fmt"
	"mime"
	nethttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Experiment is a Chaos Toolkit experiment: what a file holds, plus the Go functions attached to
// activities declared in Go. Its JSON form keeps every key of the source, known or not, in order.
type Experiment struct {
	obj *jsonvalue.Object
	// source names where the experiment came from (a path or URL), "" for experiments built in Go.
	source string
	// attached maps an activity or tolerance object to the Go code that runs or checks it.
	attached map[*jsonvalue.Object]*Code
}

// Code is the Go code bound to an activity declared in Go (package chaostest builds it): Run
// replaces the dispatch of the activity's provider, Check evaluates its tolerance. Either may be
// nil.
type Code struct {
	// Run is called instead of the provider; the provider object still describes the call in
	// the journal.
	Run func(ctx context.Context, env provider.Env) (any, error)
	// Check evaluates the output against the activity's Go tolerance ({"type": "go"}): nil
	// means met, an error explains the miss. It receives the output as jsonvalue.Plain gives it.
	Check func(output any) error
}

// NewExperiment returns an experiment for a Chaos Toolkit experiment object, used as is.
func NewExperiment(obj *jsonvalue.Object) *Experiment {
	return &Experiment{obj: obj, attached: map[*jsonvalue.Object]*Code{}}
}

// Object returns the experiment's JSON form (shared, not a copy).
func (e *Experiment) Object() *jsonvalue.Object { return e.obj }

// Source returns the path or URL the experiment was loaded from, "" when built in Go.
func (e *Experiment) Source() string { return e.source }

// Title returns the experiment's title as written (not substituted).
func (e *Experiment) Title() string {
	s, _ := e.obj.Value("title").(string)
	return s
}

// Attach binds Go code to the activity object act, which must be part of the experiment (or of
// a control's arguments): Code.Run runs instead of the provider, and Code.Check evaluates the
// tolerance object of act. The engine finds the code from the object itself, so act must not be
// replaced after Attach (a copy made with Clone has no code).
func (e *Experiment) Attach(act *jsonvalue.Object, c Code) {
	if c.Run == nil && c.Check == nil {
		return
	}
	code := &c
	e.attached[act] = code
	if tol, ok := act.Value("tolerance").(*jsonvalue.Object); ok && c.Check != nil {
		e.attached[tol] = code
	}
}

// LoadError is returned when an experiment cannot be read or parsed.
type LoadError struct {
	Source string
	Err    error
}

// Error names the source and what went wrong reading it.
func (e *LoadError) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }

// Unwrap returns the underlying error (for errors.Is and errors.As).
func (e *LoadError) Unwrap() error { return e.Err }

// Load reads an experiment from a local file (.json, .yaml or .yml) or from an http(s) URL, as
// `chaos run` does. YAML is read with YAML 1.1 rules, as PyYAML reads it. The loading limits
// apply (see LoadOptions, DefaultMaxFileSize, MaxDepth, MaxAliasValues, MaxActivities).
func Load(source string) (*Experiment, error) {
	return LoadWith(source, LoadOptions{})
}

// LoadInsecure is Load with TLS verification off for http(s) sources (`--no-verify-tls`).
func LoadInsecure(source string) (*Experiment, error) {
	return LoadWith(source, LoadOptions{InsecureTLS: true})
}

// LoadWith is Load with options: the file size limit and TLS verification.
func LoadWith(source string, o LoadOptions) (*Experiment, error) {
	limit, err := o.maxFileSize()
	if err != nil {
		return nil, &LoadError{source, err}
	}
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return fetch(source, o.InsecureTLS, limit)
	}
	var format string
	switch strings.ToLower(filepath.Ext(source)) {
	case ".json":
		format = "json"
	case ".yaml", ".yml":
		format = "yaml"
	default:
		return nil, &LoadError{source, fmt.Errorf("only files with json, yaml or yml extensions are supported")}
	}
	data, err := readFileLimited(source, limit)
	if err != nil {
		return nil, &LoadError{source, err}
	}
	e, err := Parse(data, format)
	if err != nil {
		return nil, &LoadError{source, err}
	}
	e.source = source
	return e, nil
}

// Parse reads an experiment from data in the given format: "json" or "yaml" ("" tries JSON
// first, then YAML, as Chaos Toolkit does for text/plain sources). A JSON syntax error reads
// "line L, column C: ..."; nesting deeper than MaxDepth, YAML aliases adding more than
// MaxAliasValues values and more than MaxActivities activities are errors too.
func Parse(data []byte, format string) (*Experiment, error) {
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	var v any
	var err error
	switch format {
	case "json":
		v, err = jsonvalue.DecodeLimited(data, MaxValues)
	case "yaml":
		v, err = pyyaml.DecodeLimited(data, MaxValues)
	case "":
		if v, err = jsonvalue.DecodeLimited(data, MaxValues); err != nil {
			v, err = pyyaml.DecodeLimited(data, MaxValues)
		}
	default:
		return nil, fmt.Errorf("unknown experiment format %q: want json or yaml", format)
	}
	if err != nil {
		var se *jsonvalue.SyntaxError
		if format == "json" && errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("cannot parse the experiment as %s: %w", orJSONYAML(format), err)
	}
	if v == nil {
		v = &jsonvalue.Object{}
	}
	obj, ok := v.(*jsonvalue.Object)
	if !ok {
		return nil, fmt.Errorf("an experiment must be an object, not %s", jsonvalue.TypeName(v))
	}
	if err := checkActivities(obj); err != nil {
		return nil, err
	}
	return NewExperiment(obj), nil
}

func orJSONYAML(f string) string {
	if f == "" {
		return "JSON or YAML"
	}
	return strings.ToUpper(f)
}

// fetch loads an experiment over http(s) with Chaos Toolkit's rules: Accept header, bearer token
// from CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN, parser chosen by Content-Type, 200 only.
func fetch(source string, insecure bool, limit int64) (*Experiment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(ctx, "GET", source, nil)
	if err != nil {
		return nil, &LoadError{source, err}
	}
	req.Header.Set("Accept", "application/json, application/x-yaml")
	if tok := os.Getenv("CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := &nethttp.Client{}
	if insecure {
		client.Transport = insecureTransport()
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &LoadError{source, err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, &LoadError{redacted(source), fmt.Errorf("failed to fetch the experiment: %s", resp.Status)}
	}
	if resp.ContentLength > limit {
		return nil, &LoadError{redacted(source), &TooLargeError{Size: resp.ContentLength, Limit: limit}}
	}
	data, err := readLimited(resp.Body, limit, resp.ContentLength)
	if err != nil {
		return nil, &LoadError{redacted(source), err}
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	format := ""
	switch ct {
	case "application/json":
		format = "json"
	case "application/x-yaml", "text/yaml":
		format = "yaml"
	case "text/plain":
	default:
		return nil, &LoadError{source, fmt.Errorf("unsupported content type %q: want application/json, application/x-yaml, text/yaml or text/plain", ct)}
	}
	e, err := Parse(data, format)
	if err != nil {
		return nil, &LoadError{redacted(source), err}
	}
	e.source = redacted(source)
	return e, nil
}

// redacted is a URL with its password hidden, for messages.
func redacted(source string) string {
	u, err := url.Parse(source)
	if err != nil {
		return source
	}
	return u.Redacted()
}

// SetPause sets the "before" or "after" pause of the named method activity to d, as if the file
// said `"pauses": {"after": d}`, so a test can add a pause without editing the experiment file.
func (e *Experiment) SetPause(activity, when string, d time.Duration) error {
	if when != "before" && when != "after" {
		return fmt.Errorf("a pause is \"before\" or \"after\", not %q", when)
	}
	for _, a := range objects(e.obj.Value("method")) {
		if a.Value("name") == activity {
			pauses, _ := a.Value("pauses").(*jsonvalue.Object)
			if pauses == nil {
				pauses = &jsonvalue.Object{}
				a.Set("pauses", pauses)
			}
			pauses.Set(when, gojson.Duration(d))
			return nil
		}
	}
	return fmt.Errorf("cannot add a pause %s '%s': the method has no activity of that name", when, activity)
}
