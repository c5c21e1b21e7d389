package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Vars holds the values given with `--var` and `--var-file` (compat §1.4): configuration values
// that override keys declared in the experiment's configuration (undeclared keys are dropped, as
// Chaos Toolkit does), and secret scopes that replace the experiment's scope of the same name.
type Vars struct {
	// Configuration maps a configuration key to its value.
	Configuration map[string]any
	// Secrets maps a scope name to the values replacing that whole scope.
	Secrets map[string]map[string]any
}

// Set parses one `--var key[:type]=value` and records it. Types: str, string, int, integer,
// float, number, bytes, bool, json; without a type the value is a string.
func (v *Vars) Set(s string) error {
	key, value, err := ParseVar(s)
	if err != nil {
		return err
	}
	if v.Configuration == nil {
		v.Configuration = map[string]any{}
	}
	v.Configuration[key] = value
	return nil
}

// ParseVar parses `key[:type]=value` as `chaos run --var` does.
func ParseVar(s string) (key string, value any, err error) {
	k, raw, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", nil, fmt.Errorf("invalid --var %q: want key[:type]=value", s)
	}
	key, typ, hasType := strings.Cut(k, ":")
	if !hasType {
		return key, raw, nil
	}
	value, err = ConvertToType(typ, raw)
	if err != nil {
		return "", nil, fmt.Errorf("invalid --var %q: %w", s, err)
	}
	return key, value, nil
}

// LoadFile reads one `--var-file`. A .json, .yaml or .yml file provides
// {"configuration": {...}, "secrets": {scope: {...}}}, merged over earlier files. Any other file,
// or one that parses to nothing, is read as a .env file whose KEY=VALUE lines are put into the
// process environment (as Chaos Toolkit does, so env configuration validates). The loading
// limits of experiments apply (file size, nesting depth, YAML aliases).
func (v *Vars) LoadFile(path string) error {
	return v.LoadFileWith(path, LoadOptions{})
}

// LoadFileWith is LoadFile with options (the file size limit).
func (v *Vars) LoadFileWith(path string, o LoadOptions) error {
	limit, err := o.maxFileSize()
	if err != nil {
		return fmt.Errorf("var file %s: %w", path, err)
	}
	data, err := readFileLimited(path, limit)
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			return fmt.Errorf("var file %s: %w", path, err)
		}
		return err
	}
	if err := checkUTF8(data); err != nil {
		return fmt.Errorf("var file %s: %w", path, err)
	}
	var parsed any
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		if parsed, err = jsonvalue.DecodeLimited(data, MaxValues); err != nil {
			return fmt.Errorf("var file %s: %w", path, err)
		}
	case ".yaml", ".yml":
		if parsed, err = pyyaml.DecodeLimited(data, MaxValues); err != nil {
			return fmt.Errorf("var file %s: %w", path, err)
		}
	}
	obj, _ := parsed.(*jsonvalue.Object)
	if obj == nil || obj.Len() == 0 {
		return loadDotEnv(path, data)
	}
	if c, ok := obj.Value("configuration").(*jsonvalue.Object); ok {
		if v.Configuration == nil {
			v.Configuration = map[string]any{}
		}
		for _, k := range c.Keys() {
			v.Configuration[k] = c.Value(k)
		}
	}
	if s, ok := obj.Value("secrets").(*jsonvalue.Object); ok {
		if v.Secrets == nil {
			v.Secrets = map[string]map[string]any{}
		}
		for _, scope := range s.Keys() {
			so, _ := s.Value(scope).(*jsonvalue.Object)
			m := map[string]any{}
			for _, k := range so.Keys() {
				m[k] = so.Value(k)
			}
			v.Secrets[scope] = m
		}
	}
	return nil
}

func loadDotEnv(path string, data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: want KEY=VALUE, got %q", path, n, line)
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' && val[len(val)-1] == '"' || val[0] == '\'' && val[len(val)-1] == '\'') {
			val = val[1 : len(val)-1]
		}
		if err := os.Setenv(k, val); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// ConvertToType converts a value read from the environment or a --var to the named type, as
// chaoslib's convert_to_type does.
func ConvertToType(typ string, value any) (any, error) {
	s, isStr := value.(string)
	switch typ {
	case "str", "string":
		if isStr {
			return s, nil
		}
		return pyStr(value), nil
	case "int", "integer":
		switch x := value.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid literal for int() with base 10: %q", s)
		}
		return i, nil
	case "float", "number":
		switch x := value.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("could not convert string to float: %q", s)
		}
		return f, nil
	case "bytes":
		if isStr {
			return s, nil
		}
		return pyStr(value), nil
	case "bool":
		if b, ok := value.(bool); ok {
			return b, nil
		}
		if !isStr {
			return truthy(value), nil
		}
		switch strings.ToLower(s) {
		case "false", "0", "no":
			return false, nil
		}
		return true, nil
	case "json":
		if !isStr {
			return value, nil
		}
		v, err := jsonvalue.Decode([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("invalid JSON %q: %v", s, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("variable type can only be: bool, str, int, float, bytes or json")
}

// LoadConfiguration resolves an experiment's configuration block (compat §1.4): each declared key
// takes its --var value when given, env references are read from the environment (with default
// and env_var_type), and anything else is kept as is. Dynamic (probe) values are kept for the run
// to resolve. The result keeps declaration order.
func LoadConfiguration(decl any, vars map[string]any) (*jsonvalue.Object, error) {
	out := &jsonvalue.Object{}
	d, _ := decl.(*jsonvalue.Object)
	for _, key := range d.Keys() {
		value := d.Value(key)
		if ov, ok := vars[key]; ok {
			value = ov
		}
		if o, ok := value.(*jsonvalue.Object); ok && o.Value("type") == "env" {
			resolved, err := resolveEnv(o)
			if err != nil {
				return out, err
			}
			value = resolved
		}
		out.Set(key, value)
	}
	return out, nil
}

func resolveEnv(o *jsonvalue.Object) (any, error) {
	envKey, _ := o.Value("key").(string)
	def, hasDefault := o.Get("default")
	raw, set := os.LookupEnv(envKey)
	if !set && !hasDefault {
		return nil, fmt.Errorf("Configuration makes reference to an environment key that does not exist: %s", envKey)
	}
	var value any = raw
	if !set {
		value = def
	}
	if t, ok := o.Value("env_var_type").(string); ok && t != "" {
		return ConvertToType(t, value)
	}
	return value, nil
}

// LoadSecrets resolves an experiment's secrets block (compat §1.4): inline values are kept,
// {"type": "env"} values are read from the environment (no default), vault values are not
// supported (the scope key gets an empty object and a warning), nested objects are walked.
// A --var-file scope replaces the experiment's scope of the same name. Scopes keep declaration
// order; the result maps scope name to *jsonvalue.Object.
func LoadSecrets(decl any, configuration *jsonvalue.Object, vars map[string]map[string]any) (*jsonvalue.Object, error) {
	out := &jsonvalue.Object{}
	d, _ := decl.(*jsonvalue.Object)
	for _, scope := range d.Keys() {
		if ov, ok := vars[scope]; ok {
			out.Set(scope, gojson.Object(ov))
			continue
		}
		so, _ := d.Value(scope).(*jsonvalue.Object)
		resolved, err := resolveSecretScope(so)
		if err != nil {
			return out, err
		}
		out.Set(scope, resolved)
	}
	for scope, values := range vars {
		if !out.Has(scope) {
			out.Set(scope, gojson.Object(values))
		}
	}
	return out, nil
}

func resolveSecretScope(so *jsonvalue.Object) (*jsonvalue.Object, error) {
	res := &jsonvalue.Object{}
	for _, k := range so.Keys() {
		v := so.Value(k)
		if o, ok := v.(*jsonvalue.Object); ok {
			switch o.Value("type") {
			case "env":
				envKey, _ := o.Value("key").(string)
				val, set := os.LookupEnv(envKey)
				if !set {
					return res, fmt.Errorf("Secrets make reference to an environment key that does not exist: %s", envKey)
				}
				res.Set(k, val)
				continue
			case "vault":
				res.Set(k, &jsonvalue.Object{})
				continue
			case nil:
				nested, err := resolveSecretScope(o)
				if err != nil {
					return res, err
				}
				res.Set(k, nested)
				continue
			}
		}
		res.Set(k, v)
	}
	return res, nil
}
