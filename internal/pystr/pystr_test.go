package pystr

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Expected strings were produced by CPython 3.11's repr()/str() on the same values.
func TestFloat(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{1.0, "1.0"},
		{0.1, "0.1"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.5e-7, "1.5e-07"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{2.5, "2.5"},
		{1e22, "1e+22"},
		{1.0 / 3, "0.3333333333333333"},
		{-1e300, "-1e+300"},
		{5e-324, "5e-324"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
		{100.0, "100.0"},
		{1234567.125, "1234567.125"},
		{9007199254740993.0, "9007199254740992.0"},
		{12345678901234567890.0, "1.2345678901234567e+19"},
		{-2.5, "-2.5"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Float(c.in), "Float(%v)", c.in)
	}
}

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a", `'a'`},
		{"", `''`},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`both ' and "`, `'both \' and "'`},
		{`back\slash`, `'back\\slash'`},
		{"nl\n", `'nl\n'`},
		{"tab\t", `'tab\t'`},
		{"cr\r", `'cr\r'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"é", `'é'`},
		{"\u00ad", `'\xad'`},
		{"\u2028", `'\u2028'`},
		{"😀", `'😀'`},
		{"\U000e0001", `'\U000e0001'`},
		{"\u0085", `'\x85'`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Quote(c.in), "Quote(%q)", c.in)
	}
}

func TestStr(t *testing.T) {
	obj := jsonvalue.NewObject("b", 1.0, "a", []any{}, "c", jsonvalue.NewObject())
	cases := []struct {
		in   any
		want string
	}{
		{"plain", "plain"},
		{"it's", "it's"},
		{true, "True"},
		{false, "False"},
		{nil, "None"},
		{int64(42), "42"},
		{int64(-7), "-7"},
		{42, "42"},
		{1.0, "1.0"},
		{[]any{int64(1), "two"}, "[1, 'two']"},
		{[]any{int64(1), "two", nil, true, jsonvalue.NewObject("a", 1.0, "b", []any{})}, "[1, 'two', None, True, {'a': 1.0, 'b': []}]"},
		{jsonvalue.NewObject("a", int64(1)), "{'a': 1}"},
		{obj, "{'b': 1.0, 'a': [], 'c': {}}"},
		{map[string]any{"z": "x", "a": false}, "{'a': False, 'z': 'x'}"},
		{[]string{"x", "it's"}, `['x', "it's"]`},
		{map[string]string{"k": "v"}, "{'k': 'v'}"},
		{[]any{"line\nbreak"}, `['line\nbreak']`},
		{[]any{}, "[]"},
		{jsonvalue.NewObject(), "{}"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Str(c.in), "Str(%#v)", c.in)
	}
}

func TestReprString(t *testing.T) {
	assert.Equal(t, "'x'", Repr("x"))
	assert.Equal(t, "None", Repr(nil))
}

func BenchmarkStr(b *testing.B) {
	v := []any{int64(1), "two", nil, true, jsonvalue.NewObject("a", 1.5, "b", []any{"x", 0.1})}
	b.ReportAllocs()
	for b.Loop() {
		_ = Str(v)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]any{
		0:                       int64(0),
		3 * time.Second:         int64(3),
		1500 * time.Millisecond: 1.5,
		250 * time.Millisecond:  0.25,
	} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %#v, want %#v", d, got, want)
		}
	}
}
