package subst

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func substScopes() (map[string]any, []Scope) {
	cfg := map[string]any{
		"name": "web", "port": int64(8080), "flag": true, "none": nil,
		"lst": []any{int64(1), "two"}, "d": jsonvalue.NewObject("a", int64(1)), "f": 1.0, "Up_1": "U",
	}
	scopes := []Scope{
		{Name: "first", Values: map[string]any{"token": "s3cr3t", "port": int64(1)}},
		{Name: "second", Values: map[string]any{"token": "other", "x": "y"}},
	}
	return cfg, scopes
}

// The expected values were produced by chaoslib's TypedTemplate.safe_substitute on CPython 3.11
// with the same configuration and secrets (ChainMap(configuration, *secrets.values())).
func TestSubstituteStrings(t *testing.T) {
	cfg, scopes := substScopes()
	cases := []struct {
		in   string
		want any
	}{
		{"${name}", "web"},
		{"${port}", int64(8080)},
		{"${flag}", true},
		{"${none}", nil},
		{"${lst}", []any{int64(1), "two"}},
		{"${d}", jsonvalue.NewObject("a", int64(1))},
		{"${f}", 1.0},
		{"$name", "web"},
		{"$port", "8080"},
		{"$flag", "True"},
		{"$$", "$"},
		{"$", "$"},
		{"$$name", "$name"},
		{"${missing}", "${missing}"},
		{"$missing", "$missing"},
		{"pre-${flag}-post", "pre-True-post"},
		{"pre-${none}-post", "pre-None-post"},
		{"x${d}", "x{'a': 1}"},
		{"x${lst}", "x[1, 'two']"},
		{"x${f}", "x1.0"},
		{"a $port b", "a 8080 b"},
		{"${some-service}", "${some-service}"},
		{"${a.b}", "${a.b}"},
		{"$name-x", "web-x"},
		{"${name}${port}", "web8080"},
		{"$ {name}", "$ {name}"},
		{"${ name }", "${ name }"},
		{"${token}", "s3cr3t"},
		{"${x}", "y"},
		{"cost: $$5 and $port", "cost: $5 and 8080"},
		{"${Up_1}/$Up_1", "U/U"},
		{"$1abc", "$1abc"},
		{"${}", "${}"},
		{"${name", "${name"},
		{"$name}", "web}"},
		{"$${name}", "${name}"},
		{"é$name", "éweb"},
		{"no dollar", "no dollar"},
		{"", ""},
	}
	for _, c := range cases {
		got := Value(c.in, cfg, scopes)
		assert.Equal(t, c.want, got, "substitute(%q)", c.in)
	}
}

func TestSubstituteScopeOrder(t *testing.T) {
	cfg := map[string]any{"shared": "config"}
	first := map[string]any{"only": "z-scope", "both": "from-z"}
	second := map[string]any{"only2": "a-scope", "both": "from-a"}
	// Declaration order: "zeta" before "alpha"; the first declared scope wins.
	ordered := []Scope{{Name: "zeta", Values: first}, {Name: "alpha", Values: second}}
	assert.Equal(t, "from-z", Value("${both}", cfg, ordered))
	assert.Equal(t, "from-a", Value("${both}", cfg, []Scope{{Name: "alpha", Values: second}, {Name: "zeta", Values: first}}))
	// Configuration beats secrets.
	assert.Equal(t, "config", Value("${shared}", cfg, []Scope{{Name: "s", Values: map[string]any{"shared": "secret"}}}))

	// *jsonvalue.Object keeps its key order too, with object or map values.
	obj := jsonvalue.NewObject("zeta", jsonvalue.NewObject("both", "from-z"), "alpha", second)
	assert.Equal(t, "from-z", Value("${both}", cfg, obj))
	assert.Equal(t, "a-scope", Value("${only2}", cfg, obj))

	// A plain map has no order: scopes are searched by sorted name, so "alpha" wins.
	m := map[string]map[string]any{"zeta": first, "alpha": second}
	assert.Equal(t, "from-a", Value("${both}", cfg, m))
	assert.Equal(t, "z-scope", Value("${only}", nil, m))

	assert.Equal(t, []Scope{{Name: "zeta", Values: first}, {Name: "alpha", Values: second}},
		OrderScopes(m, []string{"zeta", "missing", "alpha"}))
	got := OrderScopes(m, []string{"zeta"})
	require.Len(t, got, 2)
	assert.Equal(t, "alpha", got[1].Name)
}

func TestSubstituteWalksContainersAndCopies(t *testing.T) {
	cfg, scopes := substScopes()
	inner := jsonvalue.NewObject("url", "http://$name:${port}/", "n", int64(3))
	in := jsonvalue.NewObject(
		"title", "${name}",
		"args", inner,
		"list", []any{"${port}", []any{"${flag}", "x$flag"}, int64(5), nil, true},
		"map", map[string]any{"k": "${lst}"},
		"empty", []any{},
		"emptyobj", jsonvalue.NewObject(),
		"num", 1.5,
	)
	before, err := in.MarshalJSON()
	require.NoError(t, err)

	out, ok := Value(in, cfg, scopes).(*jsonvalue.Object)
	require.True(t, ok)
	assert.Equal(t, in.Keys(), out.Keys(), "key order kept")
	assert.Equal(t, "web", out.Value("title"))
	assert.Equal(t, jsonvalue.NewObject("url", "http://web:8080/", "n", int64(3)), out.Value("args"))
	// Nested lists stay nested (chaoslib >= 1.32 appends, it no longer flattens).
	assert.Equal(t, []any{int64(8080), []any{true, "xTrue"}, int64(5), nil, true}, out.Value("list"))
	assert.Equal(t, map[string]any{"k": []any{int64(1), "two"}}, out.Value("map"))
	assert.Equal(t, []any{}, out.Value("empty"))
	assert.Equal(t, 1.5, out.Value("num"))

	after, err := in.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the input must not change")

	// A whole-value result is a copy: changing it leaves the configuration alone.
	d := Value("${d}", cfg, scopes).(*jsonvalue.Object)
	d.Set("a", int64(2))
	assert.Equal(t, int64(1), cfg["d"].(*jsonvalue.Object).Value("a"))

	// Results are not substituted again.
	cfg2 := map[string]any{"a": "${b}", "b": "B"}
	assert.Equal(t, "${b}", Value("${a}", cfg2, []Scope(nil)))
	assert.Equal(t, "x${b}", Value("x$a", cfg2, []Scope(nil)))

	// Non-string scalars are untouched.
	for _, v := range []any{nil, true, int64(3), 2.5} {
		assert.Equal(t, v, Value(v, cfg2, []Scope(nil)))
	}
}

func BenchmarkSubstitute(b *testing.B) {
	cfg, scopes := substScopes()
	in := jsonvalue.NewObject(
		"url", "http://${name}:${port}/health",
		"arguments", jsonvalue.NewObject("label_selector", "app=$name", "qty", "${port}", "ns", "default"),
		"headers", []any{"X-Token: ${token}", "plain"},
	)
	b.ReportAllocs()
	for b.Loop() {
		_ = Value(in, cfg, scopes)
	}
}
