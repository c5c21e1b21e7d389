// Package jsonpath2 evaluates JSONPath expressions in the dialect of the Python package
// jsonpath2 (0.4.x), the one Chaos Toolkit's "jsonpath" tolerances use.
//
// The grammar and the evaluation follow jsonpath2's ANTLR grammar and node classes:
//
//	$                      the root            @            the current value (in filters)
//	.name  ["name"]        object member       [0]  [-1]    array element
//	.*  [*]                every member/element  ..name  ..[...]  recursive descent
//	[1:3]  [::2]  [-1:]    slices               [0,"a",1:]   unions
//	[?(expr)]              keep the current value when expr holds
//	[@.key]  [$.key]       index with the value found at a path (number: element, string: member)
//	.length()  [length()]  callables: charAt(i), entries(), keys(), length(), substring(i[, j]),
//	                       values()
//
// Filter expressions compare with = (equality, a single sign), !=, <, <=, >, >=, combine with
// and, or, not and parentheses, and test existence with a bare path ([?(@.isbn)]). Note that
// jsonpath2 applies a filter to the value it subscripts, not to its children: to keep array
// elements write $.items[*][?(@.x = 1)]. As in jsonpath2, "or" binds tighter than "and", object
// keys in brackets are double-quoted only and their escapes are not decoded, and a comparison is
// true when any value found on the left compares true with any value found on the right, with
// Python's == and (numbers only) ordering.
package jsonpath2

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Path is a compiled JSONPath. It is safe for concurrent use.
type Path struct {
	src  string
	root node
}

// String returns the path as it was compiled.
func (p *Path) String() string { return p.src }

// Compile parses a JSONPath in the jsonpath2 dialect. The error says where the text stops making
// sense, as jsonpath2's "line 1:<column> <message>".
func Compile(path string) (*Path, error) {
	toks, err := lex(path)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.jsonpath()
	if err != nil {
		return nil, err
	}
	return &Path{src: path, root: n}, nil
}

// MustCompile is Compile that panics on error, for paths written in Go code.
func MustCompile(path string) *Path {
	p, err := Compile(path)
	if err != nil {
		panic(fmt.Sprintf("jsonpath2: Compile(%q): %v", path, err))
	}
	return p
}

// Find returns the values the path matches in doc, in jsonpath2's order (depth-first, object
// members in key order; a map[string]any is walked in sorted key order). It works on
// *jsonvalue.Object, map[string]any, []any and scalars. The values are not copied.
func (p *Path) Find(doc any) []any {
	var out []any
	p.root.match(doc, doc, func(v any) { out = append(out, v) })
	return out
}

// ---- evaluation ----

type emitFn func(any)

type node interface {
	match(root, cur any, emit emitFn)
}

type terminalNode struct{}

func (terminalNode) match(_, cur any, emit emitFn) { emit(cur) }

type rootNode struct{ next node }

func (n rootNode) match(root, _ any, emit emitFn) { n.next.match(root, root, emit) }

type currentNode struct{ next node }

func (n currentNode) match(root, cur any, emit emitFn) { n.next.match(root, cur, emit) }

type subscriptNode struct {
	next node
	subs []subscript
}

func (n subscriptNode) match(root, cur any, emit emitFn) {
	for _, s := range n.subs {
		s.match(root, cur, func(v any) { n.next.match(root, v, emit) })
	}
}

type recursiveNode struct{ next node }

func (n recursiveNode) match(root, cur any, emit emitFn) {
	n.next.match(root, cur, emit)
	wildcard{}.match(root, cur, func(child any) { n.match(root, child, emit) })
}

type subscript interface {
	match(root, cur any, emit emitFn)
}

type objectIndex struct{ key string }

func (s objectIndex) match(_, cur any, emit emitFn) {
	switch m := cur.(type) {
	case *jsonvalue.Object:
		if v, ok := m.Get(s.key); ok {
			emit(v)
		}
	case map[string]any:
		if v, ok := m[s.key]; ok {
			emit(v)
		}
	}
}

type arrayIndex struct{ index int64 }

func (s arrayIndex) match(_, cur any, emit emitFn) {
	l, ok := cur.([]any)
	if !ok {
		return
	}
	i := s.index
	if i < 0 {
		i += int64(len(l))
		if i < 0 {
			return
		}
	}
	if i < int64(len(l)) {
		emit(l[i])
	}
}

type wildcard struct{}

func (wildcard) match(_, cur any, emit emitFn) {
	switch m := cur.(type) {
	case *jsonvalue.Object:
		for _, k := range m.Keys() {
			emit(m.Value(k))
		}
	case map[string]any:
		for _, k := range sortedKeys(m) {
			emit(m[k])
		}
	case []any:
		for _, v := range m {
			emit(v)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// arraySlice is jsonpath2's ArraySliceSubscript: Python range(start, end, step) over indices
// adjusted once for negatives, each index then looked up as an array index (so indices that
// are still negative wrap around once more, as in jsonpath2).
type arraySlice struct {
	start, end, step *int64
}

func (s arraySlice) match(root, cur any, emit emitFn) {
	l, ok := cur.([]any)
	if !ok {
		return
	}
	n := int64(len(l))
	start, end, step := int64(0), n, int64(1)
	if s.start != nil {
		start = *s.start
		if start < 0 {
			start += n
		}
	}
	if s.end != nil {
		end = *s.end
		if end < 0 {
			end += n
		}
	}
	if s.step != nil {
		step = *s.step
	}
	if step == 0 {
		return // Python's range() raises; nothing matches
	}
	// Indices outside [-n, n) never match: skip ahead to the first one inside, stop after.
	i := start
	if step > 0 && i < -n {
		i += (-n - i + step - 1) / step * step
	} else if step < 0 && i >= n {
		i -= (i - n + 1 - step - 1) / -step * -step
	}
	for ; (step > 0 && i < end) || (step < 0 && i > end); i += step {
		if (step > 0 && i >= n) || (step < 0 && i < -n) {
			return
		}
		arrayIndex{i}.match(root, cur, emit)
	}
}

type filter struct{ expr expr }

func (s filter) match(root, cur any, emit emitFn) {
	if s.expr.eval(root, cur) {
		emit(cur)
	}
}

// nodeSubscript is [@...] or [$...]: each value found indexes the current value.
type nodeSubscript struct{ n node }

func (s nodeSubscript) match(root, cur any, emit emitFn) {
	s.n.match(root, cur, func(v any) {
		if i, ok := pyInt(v); ok {
			arrayIndex{i}.match(root, cur, emit)
		} else if k, ok := v.(string); ok {
			objectIndex{k}.match(root, cur, emit)
		}
	})
}

// callable is one of jsonpath2's callable subscripts.
type callable struct {
	name string
	args []operand
}

func (s callable) match(root, cur any, emit emitFn) {
	vals := make([][]any, len(s.args))
	for i, a := range s.args {
		vals[i] = a.values(root, cur)
	}
	args := make([]any, len(s.args))
	var rec func(i int)
	rec = func(i int) {
		if i == len(args) {
			s.call(cur, args, emit)
			return
		}
		for _, v := range vals[i] {
			args[i] = v
			rec(i + 1)
		}
	}
	rec(0)
}

func (s callable) call(cur any, args []any, emit emitFn) {
	switch s.name {
	case "charAt":
		str, ok := cur.(string)
		if !ok || len(args) != 1 {
			return
		}
		i, ok := pyInt(args[0])
		if !ok {
			return
		}
		r := []rune(str)
		if i < 0 {
			i += int64(len(r))
		}
		if i >= 0 && i < int64(len(r)) {
			emit(string(r[i]))
		}
	case "entries":
		if len(args) != 0 {
			return
		}
		switch m := cur.(type) {
		case *jsonvalue.Object:
			out := make([]any, 0, m.Len())
			for _, k := range m.Keys() {
				out = append(out, []any{k, m.Value(k)})
			}
			emit(out)
		case map[string]any:
			out := make([]any, 0, len(m))
			for _, k := range sortedKeys(m) {
				out = append(out, []any{k, m[k]})
			}
			emit(out)
		case []any:
			out := make([]any, 0, len(m))
			for i, v := range m {
				out = append(out, []any{int64(i), v})
			}
			emit(out)
		}
	case "keys":
		if len(args) != 0 {
			return
		}
		switch m := cur.(type) {
		case *jsonvalue.Object:
			out := make([]any, 0, m.Len())
			for _, k := range m.Keys() {
				out = append(out, k)
			}
			emit(out)
		case map[string]any:
			out := make([]any, 0, len(m))
			for _, k := range sortedKeys(m) {
				out = append(out, k)
			}
			emit(out)
		case []any:
			out := make([]any, 0, len(m))
			for i := range m {
				out = append(out, int64(i))
			}
			emit(out)
		}
	case "length":
		if len(args) != 0 {
			return
		}
		switch m := cur.(type) {
		case []any:
			emit(int64(len(m)))
		case string:
			emit(int64(utf8.RuneCountInString(m)))
		}
	case "substring":
		str, ok := cur.(string)
		if !ok {
			return
		}
		r := []rune(str)
		switch len(args) {
		case 1:
			i, ok := pyInt(args[0])
			if !ok {
				return
			}
			lo, hi := pySlice(int64(len(r)), &i, nil)
			emit(string(r[lo:hi]))
		case 2:
			i, ok1 := pyInt(args[0])
			j, ok2 := pyInt(args[1])
			if !ok1 || !ok2 {
				return
			}
			lo, hi := pySlice(int64(len(r)), &i, &j)
			emit(string(r[lo:hi]))
		}
	case "values":
		if len(args) != 0 {
			return
		}
		switch m := cur.(type) {
		case *jsonvalue.Object:
			out := make([]any, 0, m.Len())
			for _, k := range m.Keys() {
				out = append(out, m.Value(k))
			}
			emit(out)
		case map[string]any:
			out := make([]any, 0, len(m))
			for _, k := range sortedKeys(m) {
				out = append(out, m[k])
			}
			emit(out)
		case []any:
			emit(m)
		}
	}
}

var callables = map[string]bool{"charAt": true, "entries": true, "keys": true, "length": true, "substring": true, "values": true}

// pySlice returns the bounds of Python's s[i:j] (step 1) on a sequence of length n.
func pySlice(n int64, i, j *int64) (int, int) {
	clamp := func(x int64) int64 {
		if x < 0 {
			x += n
			if x < 0 {
				x = 0
			}
		}
		if x > n {
			x = n
		}
		return x
	}
	lo, hi := int64(0), n
	if i != nil {
		lo = clamp(*i)
	}
	if j != nil {
		hi = clamp(*j)
	}
	if hi < lo {
		hi = lo
	}
	return int(lo), int(hi)
}

// pyInt reports whether v is a Python int (bool included) and its value.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// operand is a path (evaluated against root and current value) or a literal value.
type operand struct {
	n     node
	value any
}

func (o operand) values(root, cur any) []any {
	if o.n == nil {
		return []any{o.value}
	}
	var out []any
	o.n.match(root, cur, func(v any) { out = append(out, v) })
	return out
}

type expr interface {
	eval(root, cur any) bool
}

type someExpr struct{ o operand }

func (e someExpr) eval(root, cur any) bool {
	if e.o.n == nil {
		return pystr.Truthy(e.o.value)
	}
	found := false
	e.o.n.match(root, cur, func(any) { found = true })
	return found
}

type notExpr struct{ e expr }

func (e notExpr) eval(root, cur any) bool { return !e.e.eval(root, cur) }

type andExpr []expr

func (e andExpr) eval(root, cur any) bool {
	for _, x := range e {
		if !x.eval(root, cur) {
			return false
		}
	}
	return true
}

type orExpr []expr

func (e orExpr) eval(root, cur any) bool {
	for _, x := range e {
		if x.eval(root, cur) {
			return true
		}
	}
	return false
}

type binaryExpr struct {
	op          string
	left, right operand
}

func (e binaryExpr) eval(root, cur any) bool {
	lefts := e.left.values(root, cur)
	if len(lefts) == 0 {
		return false
	}
	rights := e.right.values(root, cur)
	for _, l := range lefts {
		for _, r := range rights {
			if compare(e.op, l, r) {
				return true
			}
		}
	}
	return false
}

func compare(op string, l, r any) bool {
	switch op {
	case "=":
		return Equal(l, r)
	case "!=":
		return !Equal(l, r)
	}
	c, ok := numCompare(l, r)
	if !ok {
		return false
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// Equal is Python's == on JSON values: numbers (booleans included) compare by value, lists
// element by element, dicts by their sets of keys and values.
func Equal(a, b any) bool {
	if c, ok := numCompare(a, b); ok {
		return c == 0
	}
	if isNumber(a) || isNumber(b) {
		return false // NaN, or a number against something else
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *jsonvalue.Object, map[string]any:
		xa, ok1 := asMap(a)
		yb, ok2 := asMap(b)
		if !ok1 || !ok2 || len(xa) != len(yb) {
			return false
		}
		for k, v := range xa {
			w, ok := yb[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case *jsonvalue.Object:
		out := make(map[string]any, m.Len())
		for _, k := range m.Keys() {
			out[k] = m.Value(k)
		}
		return out, true
	}
	return nil, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, int, float64, bool:
		return true
	}
	return false
}

// numCompare compares two Python numbers (bool, int, float) exactly; ok is false when either
// is not a number or a NaN is involved.
func numCompare(a, b any) (int, bool) {
	ai, aInt := pyInt(a)
	bi, bInt := pyInt(b)
	af, aFloat := a.(float64)
	bf, bFloat := b.(float64)
	switch {
	case aInt && bInt:
		return cmpInt(ai, bi), true
	case aFloat && bFloat:
		if math.IsNaN(af) || math.IsNaN(bf) {
			return 0, false
		}
		return cmpFloat(af, bf), true
	case aInt && bFloat:
		if math.IsNaN(bf) {
			return 0, false
		}
		return cmpIntFloat(ai, bf), true
	case aFloat && bInt:
		if math.IsNaN(af) {
			return 0, false
		}
		return -cmpIntFloat(bi, af), true
	}
	return 0, false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIntFloat compares an int64 with a float64 without losing precision.
func cmpIntFloat(i int64, f float64) int {
	if f >= 9223372036854775808.0 {
		return -1
	}
	if f < -9223372036854775808.0 {
		return 1
	}
	t := math.Trunc(f)
	ti := int64(t)
	if c := cmpInt(i, ti); c != 0 {
		return c
	}
	return cmpFloat(0, f-t)
}

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tCurrent
	tRecursive
	tRoot
	tDot
	tStar
	tAnd
	tEq
	tGe
	tGt
	tLe
	tLt
	tNe
	tNot
	tOr
	tTrue
	tFalse
	tNull
	tBraceL
	tBraceR
	tBracketL
	tBracketR
	tColon
	tComma
	tParenL
	tParenR
	tQuestion
	tID
	tString
	tNumber
)

var tokNames = map[tokKind]string{
	tEOF: "<EOF>", tCurrent: "'@'", tRecursive: "'..'", tRoot: "'$'", tDot: "'.'", tStar: "'*'",
	tAnd: "'and'", tEq: "'='", tGe: "'>='", tGt: "'>'", tLe: "'<='", tLt: "'<'", tNe: "'!='",
	tNot: "'not'", tOr: "'or'", tTrue: "'true'", tFalse: "'false'", tNull: "'null'",
	tBraceL: "'{'", tBraceR: "'}'", tBracketL: "'['", tBracketR: "']'", tColon: "':'",
	tComma: "','", tParenL: "'('", tParenR: "')'", tQuestion: "'?'", tID: "ID", tString: "STRING",
	tNumber: "NUMBER",
}

type token struct {
	kind tokKind
	text string
	col  int
}

var punct = [256]tokKind{'{': tBraceL, '}': tBraceR, '[': tBracketL, ']': tBracketR, ':': tColon, ',': tComma, '(': tParenL, ')': tParenR, '?': tQuestion}

var keywords = map[string]tokKind{"and": tAnd, "not": tNot, "or": tOr, "true": tTrue, "false": tFalse, "null": tNull}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '@':
			toks = append(toks, token{tCurrent, "@", start})
			i++
		case c == '$':
			toks = append(toks, token{tRoot, "$", start})
			i++
		case c == '.':
			if i+1 < len(s) && s[i+1] == '.' {
				toks = append(toks, token{tRecursive, "..", start})
				i += 2
			} else {
				toks = append(toks, token{tDot, ".", start})
				i++
			}
		case c == '*':
			toks = append(toks, token{tStar, "*", start})
			i++
		case c == '=':
			toks = append(toks, token{tEq, "=", start})
			i++
		case c == '>' || c == '<':
			k, k2 := tGt, tGe
			if c == '<' {
				k, k2 = tLt, tLe
			}
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{k2, s[i : i+2], start})
				i += 2
			} else {
				toks = append(toks, token{k, s[i : i+1], start})
				i++
			}
		case c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{tNe, "!=", start})
				i += 2
			} else {
				return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:start+1])
			}
		case strings.IndexByte("{}[]:,()?", c) >= 0:
			k := punct[c]
			toks = append(toks, token{k, s[i : i+1], start})
			i++
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			for i < len(s) && (s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')) {
				i++
			}
			w := s[start:i]
			if k, ok := keywords[w]; ok {
				toks = append(toks, token{k, w, start})
			} else {
				toks = append(toks, token{tID, w, start})
			}
		case c == '"':
			i++
			closed := false
			for i < len(s) {
				ch := s[i]
				if ch == '"' {
					i++
					closed = true
					break
				}
				if ch < 0x20 {
					return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:i+1])
				}
				if ch == '\\' {
					if i+1 >= len(s) {
						break
					}
					e := s[i+1]
					switch {
					case strings.IndexByte("\"\\/bfnrt", e) >= 0:
						i += 2
					case e == 'u' && i+5 < len(s) && isHex(s[i+2:i+6]):
						i += 6
					default:
						return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:i+2])
					}
					continue
				}
				i++
			}
			if !closed {
				return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:])
			}
			toks = append(toks, token{tString, s[start:i], start})
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			if s[j] == '-' {
				j++
			}
			if j >= len(s) || s[j] < '0' || s[j] > '9' {
				return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:start+1])
			}
			if s[j] == '0' {
				j++
			} else {
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			// ('.' [0-9]+)?
			if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
				j += 2
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			// ([Ee] [+-]? INT)?
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && s[k] >= '0' && s[k] <= '9' {
					if s[k] == '0' {
						k++
					} else {
						for k < len(s) && s[k] >= '0' && s[k] <= '9' {
							k++
						}
					}
					j = k
				}
			}
			toks = append(toks, token{tNumber, s[start:j], start})
			i = j
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			return nil, fmt.Errorf("line 1:%d token recognition error at: '%s'", start, s[start:start+size])
		}
	}
	toks = append(toks, token{tEOF, "<EOF>", len(s)})
	return toks, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}

// ---- parser ----

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(k int) token {
	if p.pos+k < len(p.toks) {
		return p.toks[p.pos+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("line 1:%d %s", p.peek().col, fmt.Sprintf(format, args...))
}

func (p *parser) unexpected(expecting string) error {
	t := p.peek()
	if t.kind == tEOF {
		return p.errorf("missing %s at '<EOF>'", expecting)
	}
	return p.errorf("mismatched input '%s' expecting %s", t.text, expecting)
}

func (p *parser) expect(k tokKind) (token, error) {
	if p.peek().kind != k {
		return token{}, p.unexpected(tokNames[k])
	}
	return p.next(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > 500 {
		return p.errorf("expression nests too deeply")
	}
	return nil
}

// jsonpath : ROOT_VALUE subscript? EOF
func (p *parser) jsonpath() (node, error) {
	if _, err := p.expect(tRoot); err != nil {
		return nil, err
	}
	next, err := p.optSubscript()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.errorf("extraneous input '%s' expecting <EOF>", p.peek().text)
	}
	return rootNode{next}, nil
}

func startsSubscript(k tokKind) bool {
	return k == tRecursive || k == tDot || k == tBracketL
}

func (p *parser) optSubscript() (node, error) {
	if !startsSubscript(p.peek().kind) {
		return terminalNode{}, nil
	}
	return p.subscript()
}

// subscript : '..' (bareword | subscriptables) subscript? | '.' bareword subscript? | subscriptables subscript?
func (p *parser) subscript() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var subs []subscript
	var err error
	recursive := false
	switch p.peek().kind {
	case tRecursive:
		p.next()
		recursive = true
		if p.peek().kind == tBracketL {
			subs, err = p.subscriptables()
		} else {
			var s subscript
			s, err = p.bareword()
			subs = []subscript{s}
		}
	case tDot:
		p.next()
		var s subscript
		s, err = p.bareword()
		subs = []subscript{s}
	case tBracketL:
		subs, err = p.subscriptables()
	default:
		return nil, p.unexpected("{'..', '.', '['}")
	}
	if err != nil {
		return nil, err
	}
	next, err := p.optSubscript()
	if err != nil {
		return nil, err
	}
	var n node = subscriptNode{next: next, subs: subs}
	if recursive {
		n = recursiveNode{next: n}
	}
	return n, nil
}

// subscriptableBareword : ID subscriptableArguments? | '*'
func (p *parser) bareword() (subscript, error) {
	switch p.peek().kind {
	case tStar:
		p.next()
		return wildcard{}, nil
	case tID:
		id := p.next()
		if p.peek().kind == tParenL {
			return p.callable(id)
		}
		return objectIndex{id.text}, nil
	}
	return nil, p.unexpected("{'*', ID}")
}

func (p *parser) callable(id token) (subscript, error) {
	args, err := p.arguments()
	if err != nil {
		return nil, err
	}
	if !callables[id.text] {
		return nil, fmt.Errorf("callable subscript '%s' not found", strings.ReplaceAll(id.text, "'", `\'`))
	}
	return callable{name: id.text, args: args}, nil
}

// subscriptableArguments : '(' (jsonpath__ (',' jsonpath__)*)? ')'
func (p *parser) arguments() ([]operand, error) {
	if _, err := p.expect(tParenL); err != nil {
		return nil, err
	}
	var args []operand
	if p.peek().kind == tParenR {
		p.next()
		return args, nil
	}
	for {
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		if _, err := p.expect(tParenR); err != nil {
			return nil, err
		}
		return args, nil
	}
}

// subscriptables : '[' subscriptable (',' subscriptable)* ']'
func (p *parser) subscriptables() ([]subscript, error) {
	if _, err := p.expect(tBracketL); err != nil {
		return nil, err
	}
	var subs []subscript
	for {
		s, err := p.subscriptable()
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		if _, err := p.expect(tBracketR); err != nil {
			return nil, err
		}
		return subs, nil
	}
}

func (p *parser) intNumber() (*int64, error) {
	t := p.next()
	if strings.ContainsAny(t.text, ".eE") {
		return nil, fmt.Errorf("line 1:%d rule subscriptable failed predicate: {self.tryCast(int)}?", t.col)
	}
	v, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("line 1:%d index %s is out of range", t.col, t.text)
	}
	return &v, nil
}

// subscriptable : STRING | NUMBER sliceable? | sliceable | '*' | '?' '(' expression ')'
// | jsonpath_ | ID subscriptableArguments
func (p *parser) subscriptable() (subscript, error) {
	switch t := p.peek(); t.kind {
	case tString:
		p.next()
		return objectIndex{t.text[1 : len(t.text)-1]}, nil
	case tNumber:
		start, err := p.intNumber()
		if err != nil {
			return nil, err
		}
		if p.peek().kind == tColon {
			return p.sliceable(start)
		}
		return arrayIndex{*start}, nil
	case tColon:
		return p.sliceable(nil)
	case tStar:
		p.next()
		return wildcard{}, nil
	case tQuestion:
		p.next()
		if _, err := p.expect(tParenL); err != nil {
			return nil, err
		}
		e, err := p.expression()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tParenR); err != nil {
			return nil, err
		}
		return filter{e}, nil
	case tRoot, tCurrent:
		n, err := p.path()
		if err != nil {
			return nil, err
		}
		return nodeSubscript{n}, nil
	case tID:
		p.next()
		if p.peek().kind != tParenL {
			return nil, p.unexpected("'('")
		}
		return p.callable(t)
	}
	return nil, p.unexpected("{STRING, NUMBER, ':', '*', '?', '$', '@', ID}")
}

// sliceable : ':' NUMBER? (':' NUMBER?)?
func (p *parser) sliceable(start *int64) (subscript, error) {
	if _, err := p.expect(tColon); err != nil {
		return nil, err
	}
	s := arraySlice{start: start}
	if p.peek().kind == tNumber {
		v, err := p.intNumber()
		if err != nil {
			return nil, err
		}
		s.end = v
	}
	if p.peek().kind == tColon {
		p.next()
		if p.peek().kind == tNumber {
			v, err := p.intNumber()
			if err != nil {
				return nil, err
			}
			s.step = v
		}
	}
	return s, nil
}

// jsonpath_ : ('$' | '@') subscript?
func (p *parser) path() (node, error) {
	t := p.next()
	next, err := p.optSubscript()
	if err != nil {
		return nil, err
	}
	if t.kind == tRoot {
		return rootNode{next}, nil
	}
	return currentNode{next}, nil
}

// jsonpath__ : jsonpath_ | value
func (p *parser) operand() (operand, error) {
	switch p.peek().kind {
	case tRoot, tCurrent:
		n, err := p.path()
		return operand{n: n}, err
	}
	v, err := p.value()
	return operand{value: v}, err
}

// expression : andExpression ; andExpression : orExpression ('and' andExpression)?
func (p *parser) expression() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var parts andExpr
	for {
		e, err := p.orExpression()
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
		if p.peek().kind != tAnd {
			break
		}
		p.next()
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

// orExpression : notExpression ('or' orExpression)?
func (p *parser) orExpression() (expr, error) {
	var parts orExpr
	for {
		e, err := p.notExpression()
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
		if p.peek().kind != tOr {
			break
		}
		p.next()
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return parts, nil
}

// notExpression : 'not' notExpression | '(' expression ')' | jsonpath__ (op jsonpath__)?
func (p *parser) notExpression() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch p.peek().kind {
	case tNot:
		p.next()
		e, err := p.notExpression()
		if err != nil {
			return nil, err
		}
		if n, ok := e.(notExpr); ok {
			return n.e, nil
		}
		return notExpr{e}, nil
	case tParenL:
		p.next()
		e, err := p.expression()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tParenR); err != nil {
			return nil, err
		}
		return e, nil
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	var op string
	switch p.peek().kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		op = p.next().text
	default:
		return someExpr{left}, nil
	}
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	return binaryExpr{op: op, left: left, right: right}, nil
}

// value : STRING | NUMBER | obj | array | 'true' | 'false' | 'null'
func (p *parser) value() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch t := p.peek(); t.kind {
	case tString:
		p.next()
		return t.text[1 : len(t.text)-1], nil
	case tNumber:
		p.next()
		if strings.ContainsAny(t.text, ".eE") {
			f, err := strconv.ParseFloat(t.text, 64)
			if err != nil && !isRangeErr(err) {
				return nil, fmt.Errorf("line 1:%d bad number %s", t.col, t.text)
			}
			return f, nil
		}
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return i, nil
		}
		f, _ := strconv.ParseFloat(t.text, 64)
		return f, nil
	case tTrue:
		p.next()
		return true, nil
	case tFalse:
		p.next()
		return false, nil
	case tNull:
		p.next()
		return nil, nil
	case tBraceL:
		p.next()
		o := &jsonvalue.Object{}
		if p.peek().kind == tBraceR {
			p.next()
			return o, nil
		}
		for {
			k, err := p.expect(tString)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tColon); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			o.Set(k.text[1:len(k.text)-1], v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tBraceR); err != nil {
				return nil, err
			}
			return o, nil
		}
	case tBracketL:
		p.next()
		a := []any{}
		if p.peek().kind == tBracketR {
			p.next()
			return a, nil
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tBracketR); err != nil {
				return nil, err
			}
			return a, nil
		}
	}
	return nil, p.unexpected("{'$', '@', STRING, NUMBER, '{', '[', 'true', 'false', 'null'}")
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
