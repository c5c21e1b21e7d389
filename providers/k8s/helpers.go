package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// loadSpecFile reads a JSON (.json) or YAML (.yml, .yaml) manifest as chaosk8s does; any other
// extension is refused with its message.
func loadSpecFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	switch filepath.Ext(path) {
	case ".json":
		err = json.Unmarshal(data, &m)
	case ".yml", ".yaml":
		err = yaml.Unmarshal(data, &m)
	default:
		return nil, fmt.Errorf("cannot process %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return m, nil
}

// convert moves a JSON-shaped value (a map from an experiment file) into a typed API object.
func convert(in any, out any) error {
	if o, ok := in.(*jsonvalue.Object); ok {
		in = o.Map()
	}
	b, err := json.Marshal(jsonvalue.Plain(in))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// jsonValue turns an API object into the ordered JSON value the journal records.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonvalue.Decode(b)
}

// rawJSON decodes a raw API response.
func rawJSON(b []byte) (any, error) { return jsonvalue.Decode(b) }

// pyStr renders an optional string as Python's str() would render the argument (None if unset).
func pyStr(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// apiError renders an API error like the Python client's ApiException: "(404)\nReason: Not
// Found\n...", on one line.
func apiError(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		reason := string(st.Reason)
		if reason == "" {
			reason = strings.TrimSpace(fmt.Sprint(st.Code))
		}
		return fmt.Sprintf("(%d) Reason: %s: %s", st.Code, reason, st.Message)
	}
	return err.Error()
}

// doRaw sends req and returns the response body. Unlike rest.Request.DoRaw, an error answer
// keeps the server's Status (reason and message: "field label not supported: ...") instead of
// "the server rejected our request for an unknown reason".
func doRaw(ctx context.Context, req *rest.Request) ([]byte, error) {
	res := req.Do(ctx)
	if err := res.Error(); err != nil {
		return nil, err
	}
	return res.Raw()
}

// formatName fills chaosk8s's "{name}" selector templates as str.format(name=name) does.
func formatName(tmpl, name string) string {
	return strings.ReplaceAll(tmpl, "{name}", pyStr(name))
}

func jsonBytes(v any) ([]byte, error) {
	return json.Marshal(jsonvalue.Plain(v))
}

// logf writes a progress line to the run's log, when there is one.
func logf(env provider.Env, format string, args ...any) {
	if env.Logf != nil {
		env.Logf(format, args...)
	}
}
