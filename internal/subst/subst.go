package subst

import (
	"sort"
	"strings"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Scope is one secret scope of a run: its name and its values.
type Scope struct {
	// Name is the scope's key under "secrets" ("k8s").
	Name string
	// Values maps each secret's name to its loaded value.
	Values map[string]any
}

// SecretScopes lists the forms Value accepts for the secret scopes:
//   - []Scope, in declaration order (the order Chaos Toolkit looks names up in);
//   - *jsonvalue.Object mapping scope names to *jsonvalue.Object or map[string]any values, in its
//     key order;
//   - map[string]map[string]any, which has no order: its scopes are searched by sorted name.
type SecretScopes interface {
	[]Scope | *jsonvalue.Object | map[string]map[string]any
}

// OrderScopes returns the scopes of all in the given order; scopes of all not named in order
// follow, sorted by name. Names in order that all lacks are skipped.
func OrderScopes(all map[string]map[string]any, order []string) []Scope {
	out := make([]Scope, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, n := range order {
		if v, ok := all[n]; ok && !seen[n] {
			seen[n] = true
			out = append(out, Scope{Name: n, Values: v})
		}
	}
	rest := make([]string, 0, len(all)-len(out))
	for n := range all {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		out = append(out, Scope{Name: n, Values: all[n]})
	}
	return out
}

// lookup is the ChainMap(configuration, *secrets.values()) of chaoslib's substitute.
type lookup struct {
	configuration map[string]any
	scopes        []scopeValues
}

// scopeValues is one secret scope, held as a map or as an ordered object.
type scopeValues struct {
	m map[string]any
	o *jsonvalue.Object
}

func newLookup[S SecretScopes](configuration map[string]any, secrets S) *lookup {
	l := &lookup{configuration: configuration}
	switch s := any(secrets).(type) {
	case []Scope:
		for _, sc := range s {
			l.scopes = append(l.scopes, scopeValues{m: sc.Values})
		}
	case *jsonvalue.Object:
		for _, k := range s.Keys() {
			switch v := s.Value(k).(type) {
			case *jsonvalue.Object:
				l.scopes = append(l.scopes, scopeValues{o: v})
			case map[string]any:
				l.scopes = append(l.scopes, scopeValues{m: v})
			}
		}
	case map[string]map[string]any:
		for _, sc := range OrderScopes(s, nil) {
			l.scopes = append(l.scopes, scopeValues{m: sc.Values})
		}
	}
	return l
}

func (l *lookup) get(name string) (any, bool) {
	if v, ok := l.configuration[name]; ok {
		return v, true
	}
	for _, sc := range l.scopes {
		if sc.o != nil {
			if v, ok := sc.o.Get(name); ok {
				return v, true
			}
		} else if v, ok := sc.m[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// substitute is chaoslib's substitute(data, configuration, secrets): Python
// string.Template.safe_substitute on every string of v, walking *jsonvalue.Object, map[string]any
// and []any, and returning copies. A string that is exactly "${name}" with name defined becomes
// the value itself (a copy of it), whatever its type; otherwise each $name, ${name} is replaced
// by Python's str() of its value, "$$" by "$", and anything else is left as is.
func substitute[S SecretScopes](v any, configuration map[string]any, secrets S) any {
	return newLookup(configuration, secrets).value(v)
}

func (l *lookup) value(v any) any {
	switch x := v.(type) {
	case string:
		return l.str(x)
	case *jsonvalue.Object:
		if x == nil {
			return x
		}
		o := &jsonvalue.Object{}
		for _, k := range x.Keys() {
			o.Set(k, l.value(x.Value(k)))
		}
		return o
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = l.value(e)
		}
		return m
	case []any:
		if x == nil {
			return x
		}
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = l.value(e)
		}
		return s
	default:
		return v
	}
}

// str substitutes one string (TypedTemplate.safe_substitute of chaoslib).
func (l *lookup) str(s string) any {
	if strings.IndexByte(s, '$') < 0 {
		return s
	}
	// Whole-value rule: the template pattern fully matches "${name}" and name is defined.
	if len(s) >= 4 && s[0] == '$' && s[1] == '{' && s[len(s)-1] == '}' && identLen(s[2:]) == len(s)-3 {
		if v, ok := l.get(s[2 : len(s)-1]); ok {
			return jsonvalue.Clone(v)
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j // s[i] == '$'
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "$"): // escaped
			b.WriteByte('$')
			i += 2
		case identLen(rest) > 0: // named
			n := identLen(rest)
			name := rest[:n]
			if v, ok := l.get(name); ok {
				b.WriteString(pystr.Str(v))
			} else {
				b.WriteString(s[i : i+1+n])
			}
			i += 1 + n
		case len(rest) > 0 && rest[0] == '{' && identLen(rest[1:]) > 0 &&
			len(rest) > 1+identLen(rest[1:]) && rest[1+identLen(rest[1:])] == '}': // braced
			n := identLen(rest[1:])
			name := rest[1 : 1+n]
			if v, ok := l.get(name); ok {
				b.WriteString(pystr.Str(v))
			} else {
				b.WriteString(s[i : i+3+n])
			}
			i += 3 + n
		default: // invalid: the delimiter is kept
			b.WriteByte('$')
			i++
		}
	}
	return b.String()
}

// identLen returns the length of the Python Template identifier ((?a:[_a-z][_a-z0-9]*) with
// IGNORECASE) at the start of s, 0 if there is none.
func identLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		switch {
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && n > 0:
		default:
			return n
		}
		n++
	}
	return n
}
