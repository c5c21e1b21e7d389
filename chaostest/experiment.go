package chaostest

import (
	"context"
	"fmt"
	"io"
	"mime"
	nethttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/journal"
)

// Experiment is a Chaos Toolkit experiment: what a file holds, plus the Go functions attached to
// activities declared in Go. Its JSON form keeps every key of the source, known or not, in order.
type Experiment struct {
	obj *journal.Object
	// source names where the experiment came from (a path or URL), "" for experiments built in Go.
	source string
	// attached maps an activity or tolerance object to the Go code that runs or checks it.
	attached map[*journal.Object]*Activity
}

// NewExperiment returns an experiment for a Chaos Toolkit experiment object, used as is.
func NewExperiment(obj *journal.Object) *Experiment {
	return &Experiment{obj: obj, attached: map[*journal.Object]*Activity{}}
}

// Object returns the experiment's JSON form (shared, not a copy).
func (e *Experiment) Object() *journal.Object { return e.obj }

// Source returns the path or URL the experiment was loaded from, "" when built in Go.
func (e *Experiment) Source() string { return e.source }

// Title returns the experiment's title as written (not substituted).
func (e *Experiment) Title() string {
	s, _ := e.obj.Value("title").(string)
	return s
}

// attach records the Go parts of an activity (runner, Go tolerance) so the engine finds them from
// the activity's object.
func (e *Experiment) attach(a *Activity) {
	if a.run != nil || a.check != nil {
		e.attached[a.obj] = a
	}
	if tol, ok := a.obj.Value("tolerance").(*journal.Object); ok && a.check != nil {
		e.attached[tol] = a
	}
}

// LoadError is returned when an experiment cannot be read or parsed.
type LoadError struct {
	Source string
	Err    error
}

func (e *LoadError) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// Load reads an experiment from a local file (.json, .yaml or .yml) or from an http(s) URL, as
// `chaos run` does. YAML is read with YAML 1.1 rules, as PyYAML reads it.
func Load(source string) (*Experiment, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return fetch(source, false)
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
	data, err := os.ReadFile(source)
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

// LoadInsecure is Load with TLS verification off for http(s) sources (`--no-verify-tls`).
func LoadInsecure(source string) (*Experiment, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return fetch(source, true)
	}
	return Load(source)
}

// Parse reads an experiment from data in the given format: "json" or "yaml" ("" tries JSON
// first, then YAML, as Chaos Toolkit does for text/plain sources).
func Parse(data []byte, format string) (*Experiment, error) {
	var v any
	var err error
	switch format {
	case "json":
		v, err = journal.DecodeJSON(data)
	case "yaml":
		v, err = pyyaml.Decode(data)
	case "":
		if v, err = journal.DecodeJSON(data); err != nil {
			v, err = pyyaml.Decode(data)
		}
	default:
		return nil, fmt.Errorf("unknown experiment format %q: want json or yaml", format)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse the experiment as %s: %w", orJSONYAML(format), err)
	}
	if v == nil {
		v = &journal.Object{}
	}
	obj, ok := v.(*journal.Object)
	if !ok {
		return nil, fmt.Errorf("an experiment must be an object, not %s", journal.TypeName(v))
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
func fetch(source string, insecure bool) (*Experiment, error) {
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, &LoadError{source, err}
	}
	if resp.StatusCode != 200 {
		return nil, &LoadError{source, fmt.Errorf("failed to fetch the experiment: %s", resp.Status)}
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
		return nil, &LoadError{source, err}
	}
	u, _ := url.Parse(source)
	e.source = u.Redacted()
	return e, nil
}

// SetPause sets the "before" or "after" pause of the named method activity to d, as if the file
// said `"pauses": {"after": d}`, so a test can add a pause without editing the experiment file.
func (e *Experiment) SetPause(activity, when string, d time.Duration) error {
	if when != "before" && when != "after" {
		return fmt.Errorf("a pause is \"before\" or \"after\", not %q", when)
	}
	for _, a := range objects(e.obj.Value("method")) {
		if a.Value("name") == activity {
			pauses, _ := a.Value("pauses").(*journal.Object)
			if pauses == nil {
				pauses = &journal.Object{}
				a.Set("pauses", pauses)
			}
			pauses.Set(when, durationValue(d))
			return nil
		}
	}
	return fmt.Errorf("cannot add a pause %s '%s': the method has no activity of that name", when, activity)
}
