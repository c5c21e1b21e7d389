// Package pyyaml decodes YAML the way PyYAML's yaml.safe_load does (YAML 1.1), into the JSON-like
// values of package jsonvalue, so a YAML experiment means to chaostest what it means to Chaos
// Toolkit.
//
// The YAML syntax is parsed by gopkg.in/yaml.v3; the meaning of scalars is PyYAML's:
//   - plain scalars are resolved with PyYAML's implicit resolver regular expressions:
//     yes/no/on/off/true/false (lower, Capitalised or UPPER case) are booleans; ~, null and the
//     empty scalar are null; integers may be binary (0b101), octal (010), hexadecimal (0x1F),
//     use underscores (1_000) or be sexagesimal (190:20:30); floats need a dot (1e3 and 1.0e3
//     stay strings, 1.0e+3 is a float), .inf and .nan included; dates and timestamps become
//     their Python isoformat() strings ("2001-12-14", "2001-12-14T21:59:43.100000-05:00");
//   - quoted and block scalars are strings;
//   - explicit tags (!!str, !!int, !!float, !!bool, !!null, !!binary, !!timestamp, !!map,
//     !!seq, !!omap, !!pairs, !!set) are honoured; any other tag is an error, as for safe_load;
//   - anchors, aliases and merge keys (<<, a mapping or a list of mappings) work, with PyYAML's
//     key order and precedence;
//   - mapping keys that are not strings become strings the way Python's json.dump writes them:
//     true → "true", null → "null", 1 → "1", 1.5 → "1.5", .inf → "Infinity".
//
// Values are *jsonvalue.Object for mappings, []any for sequences, string, bool, nil, int64 for
// integers (float64 when an integer does not fit in 64 bits) and float64 for floats.
//
// Known differences: the non-specific tag "!" is treated as no tag (PyYAML makes the scalar a
// string), !!binary yields the decoded bytes as a string, !!set yields an object whose values
// are null, integers beyond 64 bits become float64, and the YAML syntax accepted is yaml.v3's,
// which differs from PyYAML's parser only in rare corners: for example yaml.v3 refuses the "\/"
// escape in double-quoted scalars, which PyYAML reads as "/".
package pyyaml

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Decode parses one YAML document as yaml.safe_load does. An empty stream gives nil; a stream
// with more than one document is an error, as in PyYAML. Errors name the line they are about.
func Decode(data []byte) (v any, err error) {
	return DecodeLimited(data, 0)
}

// DecodeLimited is Decode that refuses a document of more than maxValues values (0: no limit).
// The YAML parser builds a node of a few hundred bytes per value before any value is made, so
// the document is first checked cheaply: it may not have more than maxValues of the characters
// that separate values (',', ':', '-', '[', '{', '?' and line breaks, wherever they are: an upper
// bound of its values, met before a megabyte of tiny values costs hundreds of megabytes).
func DecodeLimited(data []byte, maxValues int) (v any, err error) {
	if maxValues > 0 {
		n := 0
		for _, c := range data {
			switch c {
			case ',', ':', '-', '[', '{', '?', '\n':
				n++
			}
		}
		if n > maxValues {
			return nil, fmt.Errorf("yaml: the document may hold more than %d values (the value limit): it has %d of the characters that separate YAML values (, : - [ { ? and line breaks)", maxValues, n)
		}
	}
	defer func() {
		// yaml.v3 panics on a few malformed inputs; report them as errors.
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("yaml: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if strings.Contains(err.Error(), "exceeded max depth") {
			// yaml.v3's own nesting limit (10 000, without a line), met before ours.
			return nil, fmt.Errorf("yaml: mappings and sequences nest deeper than %d levels (the nesting limit)", jsonvalue.MaxDepth)
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, fmt.Errorf("yaml: line %d: expected a single document in the stream, but found another document", next.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	c := &constructor{active: map[*yaml.Node]bool{}}
	return c.document(&doc)
}

type constructor struct {
	// active holds the nodes being constructed, to detect recursive aliases.
	active map[*yaml.Node]bool
	// inAlias counts the aliases being expanded; aliasValues the values built inside one, to
	// stop documents whose aliases expand without bound.
	inAlias, aliasValues int
	// depth counts the mappings and sequences being built.
	depth int
}

// MaxAliasValues bounds how many values a document may gain by expanding its aliases: an alias
// to a mapping of 10 keys adds 11 values each time it is used. A small document whose aliases
// refer to aliases ("billion laughs") would otherwise expand to gigabytes. PyYAML shares the
// aliased object instead of copying it; chaostest builds JSON values, which are copied, so it
// refuses such documents with an error naming this limit.
const MaxAliasValues = 100_000

func (c *constructor) document(n *yaml.Node) (any, error) {
	if n.Kind != yaml.DocumentNode {
		return c.construct(n)
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return c.construct(n.Content[0])
}

func errAt(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("yaml: line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

// explicit reports whether the node carries a tag written in the document.
func explicit(n *yaml.Node) bool {
	return n.Style&yaml.TaggedStyle != 0
}

func plain(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// tagOf returns the tag PyYAML would give the node: its explicit tag, or the implicit one.
func tagOf(n *yaml.Node) string {
	if explicit(n) {
		return n.Tag
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "!!map"
	case yaml.SequenceNode:
		return "!!seq"
	case yaml.ScalarNode:
		if plain(n) {
			return resolve(n.Value)
		}
		return "!!str"
	}
	return ""
}

func (c *constructor) construct(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, errAt(n, "found undefined alias %q", n.Value)
		}
		c.inAlias++
		defer func() { c.inAlias-- }()
		return c.construct(n.Alias)
	}
	if c.inAlias > 0 {
		if c.aliasValues++; c.aliasValues > MaxAliasValues {
			return nil, errAt(n, "aliases expand the document by more than %d values (the alias expansion limit)", MaxAliasValues)
		}
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if c.depth >= jsonvalue.MaxDepth {
			return nil, errAt(n, "mappings and sequences nest deeper than %d levels (the nesting limit)", jsonvalue.MaxDepth)
		}
		c.depth++
		defer func() { c.depth-- }()
	}
	if c.active[n] {
		return nil, errAt(n, "found a recursive alias; a recursive structure cannot be represented as JSON")
	}
	c.active[n] = true
	defer delete(c.active, n)

	tag := tagOf(n)
	switch n.Kind {
	case yaml.MappingNode:
		switch tag {
		case "!!map":
			return c.mapping(n)
		case "!!set":
			return c.set(n)
		case "!!omap", "!!pairs":
			return nil, errAt(n, "expected a sequence for %s, but found a mapping", tag)
		}
		return nil, errAt(n, "could not determine a constructor for the tag '%s'", longTag(tag))
	case yaml.SequenceNode:
		switch tag {
		case "!!seq":
			out := make([]any, 0, len(n.Content))
			for _, e := range n.Content {
				v, err := c.construct(e)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		case "!!omap", "!!pairs":
			return c.pairs(n, tag)
		case "!!map", "!!set":
			return nil, errAt(n, "expected a mapping node, but found sequence")
		}
		return nil, errAt(n, "could not determine a constructor for the tag '%s'", longTag(tag))
	case yaml.ScalarNode:
		return scalar(n, tag)
	case yaml.DocumentNode:
		return c.document(n)
	}
	return nil, errAt(n, "unexpected YAML node kind %d", n.Kind)
}

func longTag(t string) string {
	if strings.HasPrefix(t, "!!") {
		return "tag:yaml.org,2002:" + t[2:]
	}
	return t
}

type pair struct {
	key   *yaml.Node
	value *yaml.Node
	// merged is set for a pair that comes from a merge key: building it copies the merged
	// mapping's values, which counts against MaxAliasValues as an alias does.
	merged bool
}

// flatten is PyYAML's SafeConstructor.flatten_mapping: merged pairs come first (for a list of
// mappings, the last mapping's pairs first), then the mapping's own pairs; later pairs win.
func (c *constructor) flatten(n *yaml.Node, depth int) ([]pair, error) {
	if depth > 1000 {
		return nil, errAt(n, "merge keys nest too deeply")
	}
	var merge, own []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if tagOf(deref(k)) != "!!merge" {
			own = append(own, pair{key: k, value: v})
			continue
		}
		v = deref(v)
		switch v.Kind {
		case yaml.MappingNode:
			sub, err := c.flatten(v, depth+1)
			if err != nil {
				return nil, err
			}
			merge = append(merge, markMerged(sub)...)
		case yaml.SequenceNode:
			var subs [][]pair
			for _, e := range v.Content {
				e = deref(e)
				if e.Kind != yaml.MappingNode {
					return nil, errAt(e, "while constructing a mapping: expected a mapping for merging, but found %s", kindName(e))
				}
				sub, err := c.flatten(e, depth+1)
				if err != nil {
					return nil, err
				}
				subs = append(subs, markMerged(sub))
			}
			for i := len(subs) - 1; i >= 0; i-- {
				merge = append(merge, subs[i]...)
			}
		default:
			return nil, errAt(v, "while constructing a mapping: expected a mapping or list of mappings for merging, but found %s", kindName(v))
		}
	}
	return append(merge, own...), nil
}

func markMerged(ps []pair) []pair {
	for i := range ps {
		ps[i].merged = true
	}
	return ps
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return "scalar"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.MappingNode:
		return "mapping"
	}
	return "node"
}

func (c *constructor) mapping(n *yaml.Node) (any, error) {
	pairs, err := c.flatten(n, 0)
	if err != nil {
		return nil, err
	}
	o := &jsonvalue.Object{}
	// Python dict keys that compare equal are one key (True, 1 and 1.0 are the same key): the
	// first spelling stays, the last value wins.
	names := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if p.merged {
			c.inAlias++
		}
		k, id, err := c.key(p.key)
		var v any
		if err == nil {
			v, err = c.construct(p.value)
		}
		if p.merged {
			c.inAlias--
		}
		if err != nil {
			return nil, err
		}
		if first, ok := names[id]; ok {
			k = first
		} else {
			names[id] = k
		}
		o.Set(k, v)
	}
	return o, nil
}

func (c *constructor) set(n *yaml.Node) (any, error) {
	o := &jsonvalue.Object{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, _, err := c.key(n.Content[i])
		if err != nil {
			return nil, err
		}
		o.Set(k, nil)
	}
	return o, nil
}

// pairs builds !!omap and !!pairs: a list of [key, value] lists (Python tuples in JSON).
func (c *constructor) pairs(n *yaml.Node, tag string) (any, error) {
	out := make([]any, 0, len(n.Content))
	for _, e := range n.Content {
		e = deref(e)
		if e.Kind != yaml.MappingNode || len(e.Content) != 2 {
			return nil, errAt(e, "while constructing an ordered map: expected a single mapping item, but found %s", kindName(e))
		}
		k, err := c.construct(e.Content[0])
		if err != nil {
			return nil, err
		}
		v, err := c.construct(e.Content[1])
		if err != nil {
			return nil, err
		}
		out = append(out, []any{k, v})
	}
	return out, nil
}

// key constructs a mapping key and returns the string json.dump would write for it and an
// identity under which Python's dict would store it.
func (c *constructor) key(n *yaml.Node) (name, id string, err error) {
	v, err := c.construct(n)
	if err != nil {
		return "", "", err
	}
	switch k := v.(type) {
	case string:
		if tagOf(deref(n)) == "!!timestamp" {
			return k, "d:" + k, nil
		}
		return k, "s:" + k, nil
	case bool:
		if k {
			return "true", "n:1", nil
		}
		return "false", "n:0", nil
	case nil:
		return "null", "null", nil
	case int64:
		s := strconv.FormatInt(k, 10)
		return s, "n:" + s, nil
	case float64:
		switch {
		case math.IsInf(k, 1):
			return "Infinity", "n:inf", nil
		case math.IsInf(k, -1):
			return "-Infinity", "n:-inf", nil
		case math.IsNaN(k):
			return "NaN", "n:nan", nil
		}
		id := "n:" + pystr.Float(k)
		if k == math.Trunc(k) && math.Abs(k) < 1<<63 {
			id = "n:" + strconv.FormatInt(int64(k), 10)
		}
		return pystr.Float(k), id, nil
	case []any:
		return "", "", errAt(n, "while constructing a mapping: found unhashable key (a list)")
	case *jsonvalue.Object:
		return "", "", errAt(n, "while constructing a mapping: found unhashable key (a mapping)")
	}
	return "", "", errAt(n, "while constructing a mapping: found a key of unsupported type %T", v)
}

// Implicit resolvers of PyYAML's Resolver (YAML 1.1), tried in registration order.
var (
	boolRE  = lazyRegexp(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	floatRE = lazyRegexp(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	intRE = lazyRegexp(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	mergeRE     = lazyRegexp(`^(?:<<)$`)
	nullRE      = lazyRegexp(`^(?:~|null|Null|NULL|)$`)
	timestampRE = lazyRegexp(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
		`(?:[Tt]|[ \t]+)[0-9][0-9]?` +
		`:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	valueRE = lazyRegexp(`^(?:=)$`)

	timestampParts = lazyRegexp(`^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)` +
		`(?:(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?` +
		`(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?)?$`)
)

// resolve is Resolver.resolve for a plain scalar: the first resolver registered for the
// value's first character whose expression matches.
func resolve(v string) string {
	first := byte(0)
	if v != "" {
		first = v[0]
	}
	type cand struct {
		tag string
		re  *regexp.Regexp
	}
	var cands []cand
	switch {
	case v == "":
		cands = []cand{{"!!null", nullRE()}}
	case strings.IndexByte("yYnNtTfFoO", first) >= 0:
		cands = []cand{{"!!bool", boolRE()}, {"!!null", nullRE()}}
	case strings.IndexByte("-+", first) >= 0:
		cands = []cand{{"!!float", floatRE()}, {"!!int", intRE()}}
	case first >= '0' && first <= '9':
		cands = []cand{{"!!float", floatRE()}, {"!!int", intRE()}, {"!!timestamp", timestampRE()}}
	case first == '.':
		cands = []cand{{"!!float", floatRE()}}
	case first == '<':
		cands = []cand{{"!!merge", mergeRE()}}
	case first == '~':
		cands = []cand{{"!!null", nullRE()}}
	case first == '=':
		cands = []cand{{"!!value", valueRE()}}
	}
	// Python's "$" also matches before a final newline; a plain scalar never ends with one.
	for _, c := range cands {
		if c.re.MatchString(v) {
			return c.tag
		}
	}
	return "!!str"
}

func scalar(n *yaml.Node, tag string) (any, error) {
	v := n.Value
	switch tag {
	case "!!str":
		return v, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(v) {
		case "yes", "true", "on":
			return true, nil
		case "no", "false", "off":
			return false, nil
		}
		return nil, errAt(n, "cannot construct a boolean from %q", v)
	case "!!int":
		i, err := constructInt(v)
		if err != nil {
			return nil, errAt(n, "%v", err)
		}
		return i, nil
	case "!!float":
		f, err := constructFloat(v)
		if err != nil {
			return nil, errAt(n, "%v", err)
		}
		return f, nil
	case "!!timestamp":
		s, err := constructTimestamp(v)
		if err != nil {
			return nil, errAt(n, "%v", err)
		}
		return s, nil
	case "!!binary":
		b, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
				return -1
			}
			return r
		}, v))
		if err != nil {
			return nil, errAt(n, "failed to decode base64 data: %v", err)
		}
		return string(b), nil
	case "!!merge":
		return nil, errAt(n, "a merge key << is only allowed as a mapping key")
	case "!!map", "!!omap", "!!set":
		return nil, errAt(n, "expected a mapping node, but found scalar")
	case "!!seq", "!!pairs":
		return nil, errAt(n, "expected a sequence node, but found scalar")
	}
	return nil, errAt(n, "could not determine a constructor for the tag '%s'", longTag(tag))
}

// constructInt is SafeConstructor.construct_yaml_int.
func constructInt(s string) (any, error) {
	v := strings.ReplaceAll(s, "_", "")
	if v == "" {
		return nil, fmt.Errorf("invalid literal for int(): %q", s)
	}
	neg := false
	switch v[0] {
	case '-':
		neg = true
		v = v[1:]
	case '+':
		v = v[1:]
	}
	var z big.Int
	ok := false
	switch {
	case v == "0":
		ok = true
	case strings.HasPrefix(v, "0b"):
		_, ok = z.SetString(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		_, ok = z.SetString(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		d := v
		if strings.HasPrefix(d, "0o") || strings.HasPrefix(d, "0O") {
			d = d[2:]
		}
		_, ok = z.SetString(d, 8)
	case strings.Contains(v, ":"):
		ok = true
		base := big.NewInt(1)
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			var d big.Int
			if _, good := d.SetString(parts[i], 10); !good {
				ok = false
				break
			}
			z.Add(&z, d.Mul(&d, base))
			base.Mul(base, big.NewInt(60))
		}
	default:
		_, ok = z.SetString(v, 10)
	}
	if !ok {
		return nil, fmt.Errorf("invalid literal for int(): %q", s)
	}
	if neg {
		z.Neg(&z)
	}
	if z.IsInt64() {
		return z.Int64(), nil
	}
	f, _ := new(big.Float).SetInt(&z).Float64()
	return f, nil
}

// constructFloat is SafeConstructor.construct_yaml_float.
func constructFloat(s string) (float64, error) {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	if v == "" {
		return 0, fmt.Errorf("could not convert string to float: %q", s)
	}
	sign := 1.0
	switch v[0] {
	case '-':
		sign = -1
		v = v[1:]
	case '+':
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		parts := strings.Split(v, ":")
		base, val := 1.0, 0.0
		for i := len(parts) - 1; i >= 0; i-- {
			d, err := pyFloat(parts[i])
			if err != nil {
				return 0, fmt.Errorf("could not convert string to float: %q", s)
			}
			val += d * base
			base *= 60
		}
		return sign * val, nil
	}
	f, err := pyFloat(v)
	if err != nil {
		return 0, fmt.Errorf("could not convert string to float: %q", s)
	}
	return sign * f, nil
}

// pyFloat is Python's float() of a string without underscores: decimal digits with an
// optional point and exponent, or inf/infinity/nan, surrounded by optional whitespace.
func pyFloat(s string) (float64, error) {
	t := strings.TrimSpace(s)
	body := strings.TrimLeft(t, "+-")
	if strings.HasPrefix(strings.ToLower(body), "0x") || body == "" {
		return 0, fmt.Errorf("could not convert string to float: %q", s)
	}
	return strconv.ParseFloat(t, 64)
}

// constructTimestamp is SafeConstructor.construct_yaml_timestamp, rendered as Python's
// isoformat() of the date or datetime it makes.
func constructTimestamp(s string) (string, error) {
	m := timestampParts().FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("cannot construct a timestamp from %q", s)
	}
	year, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	day, _ := strconv.Atoi(m[3])
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Year() != year || int(d.Month()) != month || d.Day() != day {
		return "", fmt.Errorf("day is out of range for month in %q", s)
	}
	date := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
	if m[4] == "" {
		return date, nil
	}
	hour, _ := strconv.Atoi(m[4])
	minute, _ := strconv.Atoi(m[5])
	second, _ := strconv.Atoi(m[6])
	if hour > 23 || minute > 59 || second > 59 {
		return "", fmt.Errorf("time out of range in %q", s)
	}
	out := fmt.Sprintf("%sT%02d:%02d:%02d", date, hour, minute, second)
	if frac := m[7]; frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		frac += strings.Repeat("0", 6-len(frac))
		if frac != "000000" {
			out += "." + frac
		}
	}
	switch {
	case m[9] != "":
		th, _ := strconv.Atoi(m[10])
		tm := 0
		if m[11] != "" {
			tm, _ = strconv.Atoi(m[11])
		}
		off := th*60 + tm
		if m[9] == "-" {
			off = -off
		}
		if off <= -24*60 || off >= 24*60 {
			return "", fmt.Errorf("offset must be strictly between -24 and 24 hours in %q", s)
		}
		sign := "+"
		if off < 0 {
			sign = "-"
			off = -off
		}
		out += fmt.Sprintf("%s%02d:%02d", sign, off/60, off%60)
	case m[8] != "":
		out += "+00:00"
	}
	return out, nil
}

// lazyRegexp compiles expr on first use, so that package initialisation stays cheap for
// commands that never need it (chaostest version starts in a few milliseconds).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
