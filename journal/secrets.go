package journal

import (
	"slices"
	"strings"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Masked is what journals, log lines and reports show in place of a secret value: the one mask
// of chaostest (engine.SecretMask is the same).
const Masked = "********"

// secretWords are the parts of a key name that make its value a secret in reports.
var secretWords = []string{"password", "passwd", "secret", "token", "key", "credential", "auth", "cookie", "private"}

// IsSecretName reports whether a configuration, argument or header name looks like it holds a
// secret: its lower-cased name contains one of password, passwd, secret, token, key,
// credential, auth, cookie or private ("api_key", "Authorization", "db-password",
// "SESSION_TOKEN"). It errs on the side of masking ("keyspace" is masked too).
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redactSecrets returns a copy of an experiment's "secrets" block with every value masked. Keys
// (the secret scopes and names) stay visible. An environment reference
// {"type": "env", "key": "VAR"} keeps its type and variable name, which say where the value
// comes from, not what it is; any other field of it ("default") is masked.
func redactSecrets(v any) any {
	switch x := v.(type) {
	case *jsonvalue.Object:
		c := &jsonvalue.Object{}
		env := isEnvRef(x)
		for _, k := range x.Keys() {
			val := x.Value(k)
			switch {
			case env && (k == "type" || k == "key" || k == "env_var_type"):
				c.Set(k, val)
			case isContainer(val):
				c.Set(k, redactSecrets(val))
			default:
				c.Set(k, Masked)
			}
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = redactSecrets(e)
		}
		return c
	case map[string]any:
		return redactSecrets(objectFromMap(x))
	case nil:
		return nil
	default:
		return Masked
	}
}

// redactByName returns a copy of v in which the value of every object key that looks secret
// (IsSecretName) is masked, at any depth. Environment references ({"type": "env", "key": ...})
// are left readable except for a "default" under a secret-looking name, which is masked.
func redactByName(v any) any {
	switch x := v.(type) {
	case *jsonvalue.Object:
		c := &jsonvalue.Object{}
		env := isEnvRef(x)
		for _, k := range x.Keys() {
			val := x.Value(k)
			switch {
			case env && k == "key":
				c.Set(k, val)
			case IsSecretName(k):
				if o, ok := val.(*jsonvalue.Object); ok && isEnvRef(o) {
					c.Set(k, redactSecrets(o))
				} else {
					c.Set(k, Masked)
				}
			default:
				c.Set(k, redactByName(val))
			}
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = redactByName(e)
		}
		return c
	case map[string]any:
		return redactByName(objectFromMap(x))
	default:
		return v
	}
}

// redactExperiment returns the configuration and secrets blocks of an experiment as reports
// show them: configuration keys masked by name (redactByName), secrets masked whole
// (redactSecrets).
func redactExperiment(exp *jsonvalue.Object) (config, secrets any) {
	if c, ok := exp.Get("configuration"); ok && c != nil {
		config = redactByName(c)
	}
	if s, ok := exp.Get("secrets"); ok && s != nil {
		secrets = redactSecrets(s)
	}
	return config, secrets
}

func isEnvRef(o *jsonvalue.Object) bool {
	t, _ := o.Value("type").(string)
	return t == "env" && o.Has("key")
}

func isContainer(v any) bool {
	switch v.(type) {
	case *jsonvalue.Object, []any, map[string]any:
		return true
	}
	return false
}

// objectFromMap turns a map into an *jsonvalue.Object with sorted keys, so output is deterministic.
func objectFromMap(m map[string]any) *jsonvalue.Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := &jsonvalue.Object{}
	for _, k := range keys {
		o.Set(k, m[k])
	}
	return o
}
