package pyyaml

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

// pyJSON writes v as Python's json.dumps(v, ensure_ascii=True, separators=(",", ":")) does, so
// results compare with what PyYAML + json produced (NaN and Infinity included).
func pyJSON(v any) string {
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pystr.Float(x))
		}
	case string:
		b.WriteByte('"')
		for _, r := range x {
			switch {
			case r == '"':
				b.WriteString(`\"`)
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\b':
				b.WriteString(`\b`)
			case r == '\f':
				b.WriteString(`\f`)
			case r < 0x20 || (r > 0x7e && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case *jsonvalue.Object:
		b.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, k)
			b.WriteByte(':')
			writeJSON(b, x.Value(k))
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "<%T %v>", v, v)
	}
}

// pyCases: YAML input, the JSON of yaml.safe_load's result as written by json.dumps (PyYAML 6.0.3,
// CPython 3.11; dates via isoformat()), or the error PyYAML raised. Produced by running PyYAML on
// each input.
var pyCases = []struct{ in, want, pyErr string }{
	{"[yes, Yes, YES, no, No, NO, true, True, TRUE, false, False, FALSE, on, On, ON, off, Off, OFF]", "[true,true,true,false,false,false,true,true,true,false,false,false,true,true,true,false,false,false]", ""},
	{"[yES, tRUE, y, n, Y, N, oN]", "[\"yES\",\"tRUE\",\"y\",\"n\",\"Y\",\"N\",\"oN\"]", ""},
	{"[~, null, Null, NULL, nULL, '', \"null\"]", "[null,null,null,null,\"nULL\",\"\",\"null\"]", ""},
	{"a:\nb: ~\nc: null\n", "{\"a\":null,\"b\":null,\"c\":null}", ""},
	{"[0, 1, -1, +1, 010, 0o10, 0x1F, 0x1f, -0x1F, 0b101, -0b101, 1_000, 0_7, 08, 09, 190:20:30, -1:30, 0:30, 1:60, 0b, 0_]", "[0,1,-1,1,8,\"0o10\",31,31,-31,5,-5,1000,7,\"08\",\"09\",685230,-90,\"0:30\",\"1:60\",\"0b\",0]", ""},
	{"[1.0, 1., .5, -.5, +.5, 1e3, 1.0e3, 1.0e+3, 1.0E-3, 1_000.5, .inf, -.inf, +.inf, .Inf, .INF, .NaN, .nan, .NAN, 190:20:30.15, 1.2.3, 0.1, 1e+3, 6.8523015e+5]", "[1.0,1.0,0.5,\"-.5\",\"+.5\",\"1e3\",\"1.0e3\",1000.0,0.001,1000.5,Infinity,-Infinity,Infinity,Infinity,Infinity,NaN,NaN,NaN,685230.15,\"1.2.3\",0.1,\"1e+3\",685230.15]", ""},
	{"['1', \"2\", 1a, a1, 0x, 0xG, 1_, -, +, .]", "[\"1\",\"2\",\"1a\",\"a1\",\"0x\",\"0xG\",1,\"-\",\"+\",\".\"]", ""},
	{"[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5, 2001-12-15 2:59:43.10, 2002-12-14, 2001-12-14T21:59:43Z, 2001-12-14T21:59:43.1234567+05:30, 2001-1-2 3:04:05]", "[\"2001-12-14\",\"2001-12-14T21:59:43.100000-05:00\",\"2001-12-14T21:59:43.100000-05:00\",\"2001-12-15T02:59:43.100000\",\"2002-12-14\",\"2001-12-14T21:59:43+00:00\",\"2001-12-14T21:59:43.123456+05:30\",\"2001-01-02T03:04:05\"]", ""},
	{"true: a\n1: b\n1.5: c\n~: d\nno: e\n.inf: f\n-.inf: g\n2001-12-14: h\n0x10: i\n", "{\"true\":\"b\",\"1.5\":\"c\",\"null\":\"d\",\"false\":\"e\",\"Infinity\":\"f\",\"-Infinity\":\"g\",\"2001-12-14\":\"h\",\"16\":\"i\"}", ""},
	{"base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm1:\n  <<: *b\n  c: 5\nm2:\n  <<: [*b, *o]\n  d: 6\nm3:\n  a: 0\n  <<: *b\n", "{\"base\":{\"a\":1,\"b\":2},\"other\":{\"b\":3,\"c\":4},\"m1\":{\"a\":1,\"b\":2,\"c\":5},\"m2\":{\"b\":2,\"c\":4,\"a\":1,\"d\":6},\"m3\":{\"a\":0,\"b\":2}}", ""},
	{"x: &x {k: v}\nlist: [*x, *x]\n", "{\"x\":{\"k\":\"v\"},\"list\":[{\"k\":\"v\"},{\"k\":\"v\"}]}", ""},
	{"a: 'yes'\nb: \"1\"\nc: |\n  yes\nd: >\n  10\ne: \"\\t\\u00e9\"\n", "{\"a\":\"yes\",\"b\":\"1\",\"c\":\"yes\\n\",\"d\":\"10\\n\",\"e\":\"\\t\\u00e9\"}", ""},
	{"a: !!str 123\nb: !!int '12'\nc: !!float 1\nd: !!bool 'yes'\ne: !!null 'x'\nf: !!str yes\ng: !!float 1e3\nh: !!int 0x1F\n", "{\"a\":\"123\",\"b\":12,\"c\":1.0,\"d\":true,\"e\":null,\"f\":\"yes\",\"g\":1000.0,\"h\":31}", ""},
	{"z: 1\na:\n  - {q: 1, p: 2}\n  - [1, [2, 3]]\nm: {}\nl: []\n", "{\"z\":1,\"a\":[{\"q\":1,\"p\":2},[1,[2,3]]],\"m\":{},\"l\":[]}", ""},
	{"a:\nb: \nc: ''\n", "{\"a\":null,\"b\":null,\"c\":\"\"}", ""},
	{"plain multi\n  line\n", "\"plain multi line\"", ""},
	{"key with spaces: value with: colon\n'quoted key': x\n", "", "ScannerError: mapping values are not allowed here |   in \"<unicode string>\", line 1, column 28: |     key with spaces: value with: colon |                                ^"},
	{"=", "", "ConstructorError: could not determine a constructor for the tag 'tag:yaml.org,2002:value' |   in \"<unicode string>\", line 1, column 1: |     = |     ^"},
	{"<<: {a: 1}\n", "{\"a\":1}", ""},
	{"- !!omap [{a: 1}, {b: 2}]\n- !!pairs [{a: 1}, {a: 2}]\n", "[[[\"a\",1],[\"b\",2]],[[\"a\",1],[\"a\",2]]]", ""},
	{"- !!binary aGVsbG8=\n", "[\"hello\"]", ""},
	{"[1, 2]: x\n", "", "ConstructorError: while constructing a mapping | found unhashable key |   in \"<unicode string>\", line 1, column 1: |     [1, 2]: x |     ^"},
	{"!foo x\n", "", "ConstructorError: could not determine a constructor for the tag '!foo' |   in \"<unicode string>\", line 1, column 1: |     !foo x |     ^"},
	{"a: 1\na: 2\n", "{\"a\":2}", ""},
	{"", "null", ""},
	{"# only a comment\n", "null", ""},
	{"---\n", "null", ""},
	{"a: 1\n---\nb: 2\n", "", "ComposerError: expected a single document in the stream |   in \"<unicode string>\", line 1, column 1: |     a: 1 |     ^ | but found another document |   in \"<unicode string>\", line 2, column 1: |     --- |     ^"},
	// Whole documents: block and flow styles, escapes, anchors, tags, complex keys.
	{"a: |\n  x\n  y\n\nb: c\n", "{\"a\":\"x\\ny\\n\",\"b\":\"c\"}", ""},
	{"a: |-\n  x\n  y\n\n\nb: c\n", "{\"a\":\"x\\ny\",\"b\":\"c\"}", ""},
	{"a: |+\n  x\n\n\nb: c\n", "{\"a\":\"x\\n\\n\\n\",\"b\":\"c\"}", ""},
	{"a: >\n  folded\n  line\n\n  para\nb: c\n", "{\"a\":\"folded line\\npara\\n\",\"b\":\"c\"}", ""},
	{"a: >-\n  x\n   indented\n  y\n", "{\"a\":\"x\\n indented\\ny\"}", ""},
	{"a: plain\n  continued\n\n  para\n", "{\"a\":\"plain continued\\npara\"}", ""},
	{"a: {b: 1, c: [1, 2, {d: e}]}\n", "{\"a\":{\"b\":1,\"c\":[1,2,{\"d\":\"e\"}]}}", ""},
	{"? complex key\n: v\n? [a, b]\n", "", "ConstructorError"},
	{"a: 1 # comment\n# full\nb: 2\n...\n", "{\"a\":1,\"b\":2}", ""},
	{"%YAML 1.1\n---\na: 1\n", "{\"a\":1}", ""},
	{"- !!set {a, b}\n- !!omap [{x: 1}]\n", "[{\"a\":null,\"b\":null},[[\"x\",1]]]", ""},
	{"a: &x 1\nb: *x\nc: &y [*x, {k: *x}]\nd: *y\n", "{\"a\":1,\"b\":1,\"c\":[1,{\"k\":1}],\"d\":[1,{\"k\":1}]}", ""},
	{"a: !!map {b: 1}\nb: !!seq [1]\nc: !!str\n", "{\"a\":{\"b\":1},\"b\":[1],\"c\":\"\"}", ""},
	{"empty_flow: {}\nempty_list: []\nnull_in_flow: [~, , null]\n", "", "ParserError"},
	{"a:\n- 1\n- 2\nb:\n  - x: 1\n    y: 2\n  - z\n", "{\"a\":[1,2],\"b\":[{\"x\":1,\"y\":2},\"z\"]}", ""},
	{"'123': a\n\"yes\": b\n", "{\"123\":\"a\",\"yes\":\"b\"}", ""},
	{"a: -\nb: -1\nc: - x\n", "", "ScannerError"},
	{"a: b: c\n", "", "ScannerError"},
	{"\ta: 1\n", "", "ScannerError"},
	{"a: 0o17\nb: 0O17\nc: 0b2\nd: 1__2\ne: _1\nf: 1_\n", "{\"a\":\"0o17\",\"b\":\"0O17\",\"c\":\"0b2\",\"d\":12,\"e\":\"_1\",\"f\":1}", ""},
	{"a: .5e+3\nb: 5.e-3\nc: 1.5E+3\nd: 1.5e3\n", "{\"a\":500.0,\"b\":0.005,\"c\":1500.0,\"d\":\"1.5e3\"}", ""},
	{"a: 12:30\nb: 1:2:3\nc: 12:60\nd: -12:30\ne: +1:30.5\n", "{\"a\":750,\"b\":3723,\"c\":\"12:60\",\"d\":-750,\"e\":90.5}", ""},
	{"a: 2001-12-14T21:59:43.1234567Z\nb: 2001-12-14 21:59:43\nc: 2001-12-14t21:59:43-5\n", "{\"a\":\"2001-12-14T21:59:43.123456+00:00\",\"b\":\"2001-12-14T21:59:43\",\"c\":\"2001-12-14T21:59:43-05:00\"}", ""},
	{"a: Yes\nb: nO\nc: ON\nd: oFF\ne: True\nf: tRue\n", "{\"a\":true,\"b\":\"nO\",\"c\":true,\"d\":\"oFF\",\"e\":true,\"f\":\"tRue\"}", ""},
	{"a: ~\nb: Null\nc: NULL\nd: nuLL\n", "{\"a\":null,\"b\":null,\"c\":null,\"d\":\"nuLL\"}", ""},
	{"key: \"multi\n  line\n\n  quoted\"\n", "{\"key\":\"multi line\\nquoted\"}", ""},
	{"a: !!float '1'\nb: !!float '-.inf'\nc: !!int '-0x1f'\nd: !!int '1:30'\n", "{\"a\":1.0,\"b\":-Infinity,\"c\":-31,\"d\":90}", ""},
	{"- - a\n  - b\n- - c\n", "[[\"a\",\"b\"],[\"c\"]]", ""},
	{"a: [1, 2,]\n", "{\"a\":[1,2]}", ""},
	{"{a: 1, b}\n", "{\"a\":1,\"b\":null}", ""},
	{"[a, b]: c\n", "", "ConstructorError"},
	{"a:\n  b:\n    c:\n      d: 1\n", "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", ""},
	{"x: \"\\t\"\ny: '\\t'\n", "{\"x\":\"\\t\",\"y\":\"\\\\t\"}", ""},
}

func TestDecodeMatchesPyYAML(t *testing.T) {
	for _, c := range pyCases {
		got, err := Decode([]byte(c.in))
		if c.pyErr != "" {
			assert.Error(t, err, "PyYAML fails on %q with %s; got %s", c.in, c.pyErr, pyJSON(got))
			continue
		}
		if assert.NoError(t, err, "input %q", c.in) {
			assert.Equal(t, c.want, pyJSON(got), "input %q", c.in)
		}
	}
}

func TestDecodeTypes(t *testing.T) {
	v, err := Decode([]byte("i: 1\nf: 1.5\nb: yes\nn: ~\ns: x\nl: [1]\no: {a: 1}\n"))
	require.NoError(t, err)
	o, ok := v.(*jsonvalue.Object)
	require.True(t, ok, "a mapping decodes to *jsonvalue.Object, got %T", v)
	assert.Equal(t, []string{"i", "f", "b", "n", "s", "l", "o"}, o.Keys())
	assert.Equal(t, int64(1), o.Value("i"))
	assert.Equal(t, 1.5, o.Value("f"))
	assert.Equal(t, true, o.Value("b"))
	assert.Nil(t, o.Value("n"))
	assert.True(t, o.Has("n"))
	assert.Equal(t, "x", o.Value("s"))
	assert.Equal(t, []any{int64(1)}, o.Value("l"))
	assert.Equal(t, jsonvalue.NewObject("a", int64(1)), o.Value("o"))
}

func TestDecodeErrorsCarryLines(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a: 1\nb: [1, 2\nc: 3\n", "line"},
		{"a: 1\nb: !foo x\n", "line 2: could not determine a constructor for the tag '!foo'"},
		{"a: 1\nb:\n  c: =\n", "line 3: could not determine a constructor for the tag 'tag:yaml.org,2002:value'"},
		{"x: 1\n? [1, 2]\n: x\n", "line 2: while constructing a mapping: found unhashable key"},
		{"a: !!int abc\n", "line 1: invalid literal for int()"},
		{"a: !!float abc\n", "line 1: could not convert string to float"},
		{"a: !!bool maybe\n", "line 1: cannot construct a boolean"},
		{"a: 1\n---\nb: 2\n", "line 2: expected a single document"},
		{"a: &a [*a]\n", "recursive"},
		{"a: 2001-02-30\n", "line 1: day is out of range"},
		{"m:\n  <<: 1\n", "line 2: while constructing a mapping: expected a mapping or list of mappings for merging"},
		{"m:\n  <<: [1]\n", "line 2: while constructing a mapping: expected a mapping for merging, but found scalar"},
		{"a: !!map x\n", "expected a mapping node, but found scalar"},
		{"a: !!seq x\n", "expected a sequence node, but found scalar"},
	}
	for _, c := range cases {
		v, err := Decode([]byte(c.in))
		if assert.Error(t, err, "input %q gave %s", c.in, pyJSON(v)) {
			assert.Contains(t, err.Error(), c.want, "input %q", c.in)
		}
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	in := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		in += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
			", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	_, err := Decode([]byte(in))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aliases expand the document by more than 100000 values (the alias expansion limit)")
}

func TestDecodeScalarRules(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"0b1_0", int64(2)},
		{"-0b11", int64(-3)},
		{"0777", int64(511)},
		{"0x_1F", int64(31)},
		{"+0", int64(0)},
		{"-0", int64(0)},
		{"1:0:0", int64(3600)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"-9223372036854775808", int64(math.MinInt64)},
		// Known difference: Python keeps a big int exact; here it becomes the nearest float64.
		{"99999999999999999999", 1e20},
		{"1_0.0_1", 10.01},
		{"-1.5e-3", -0.0015},
		{"1:30.5", 90.5},
		{"'1'", "1"},
		{"\"yes\"", "yes"},
		{"!!str 0x1F", "0x1F"},
		{"!!int '0b11'", int64(3)},
		{"!!float '.5'", 0.5},
		{"!!float '-1:30'", -90.0},
		{"!!bool OFF", false},
		{"!!null ''", nil},
		{"!!timestamp 2001-12-14", "2001-12-14"},
		{"2001-12-14 21:59:43", "2001-12-14T21:59:43"},
		{"2001-12-14T21:59:43.000Z", "2001-12-14T21:59:43+00:00"},
		{"2001-12-14T21:59:43-00:30", "2001-12-14T21:59:43-00:30"},
		{"2001-12-14x", "2001-12-14x"},
		{"<<", nil}, // a lone merge key scalar outside a mapping key is an error in PyYAML too
	}
	for _, c := range cases {
		got, err := Decode([]byte(c.in))
		if c.in == "<<" {
			assert.Error(t, err, "a lone << has no constructor")
			continue
		}
		if assert.NoError(t, err, "input %q", c.in) {
			assert.Equal(t, c.want, got, "input %q", c.in)
		}
	}
	v, err := Decode([]byte(".nan"))
	require.NoError(t, err)
	f, ok := v.(float64)
	assert.True(t, ok && math.IsNaN(f), ".nan is NaN, got %v", v)
}

func TestDecodeMergeOrderAndPrecedence(t *testing.T) {
	in := `
defaults: &defaults
  timeout: 3
  url: http://a
extra: &extra
  url: http://b
  verify: false
probe:
  <<: [*defaults, *extra]
  name: p
  timeout: 5
`
	v, err := Decode([]byte(in))
	require.NoError(t, err)
	p := v.(*jsonvalue.Object).Value("probe").(*jsonvalue.Object)
	// PyYAML puts merged keys first, the last listed mapping's first, and earlier mappings and
	// the mapping's own keys win.
	assert.Equal(t, []string{"url", "verify", "timeout", "name"}, p.Keys())
	assert.Equal(t, "http://a", p.Value("url"))
	assert.Equal(t, int64(5), p.Value("timeout"))
	assert.Equal(t, false, p.Value("verify"))
}

func TestDecodeEquivalentKeys(t *testing.T) {
	// True, 1 and 1.0 are one dict key in Python: the first spelling stays, the last value wins.
	v, err := Decode([]byte("true: a\n1: b\n1.0: c\n'1': d\n0: e\nfalse: f\n"))
	require.NoError(t, err)
	assert.Equal(t, `{"true":"c","1":"d","0":"f"}`, pyJSON(v))
}

func BenchmarkDecode(b *testing.B) {
	doc := []byte(`
version: 1.0.0
title: What is the impact of an expired certificate on our application chain?
description: If a certificate expires, we should gracefully deal with the issue.
tags: [tls, kubernetes]
configuration:
  web_app_url: {type: env, key: WEB_APP_URL, default: "http://localhost:8080"}
steady-state-hypothesis:
  title: Application responds
  probes:
    - type: probe
      name: the-astre-service-must-be-running
      tolerance: true
      provider:
        type: python
        module: os.path
        func: exists
        arguments:
          path: astre.pid
    - type: probe
      name: the-application-must-respond
      tolerance: 200
      provider: {type: http, url: "${web_app_url}", timeout: [3, 5]}
method:
  - type: action
    name: expire-cert
    provider: {type: process, path: openssl, arguments: "x509 -in cert.pem -noout -enddate"}
    pauses: {after: 1.5}
rollbacks: []
`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}
