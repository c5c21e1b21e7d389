// Package pystr renders JSON-like Go values the way Python's str() and repr() render the values
// json.loads produces. Chaos Toolkit builds mixed substitutions ("pre-${x}-post") with str(), so
// a boolean becomes "True", null "None", a list "[1, 'two']" and a dict "{'a': 1}".
package pystr

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Str returns Python's str(v) for a JSON value: a string is returned as is, everything else as
// Repr. Maps other than *jsonvalue.Object have no order, so their keys are sorted.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return Repr(v)
}

// Repr returns Python's repr(v) for a JSON value: strings are quoted ('a', "it's"), booleans are
// True/False, null is None, floats use Python's shortest round-trip form (1.0, 1e+16, inf),
// lists are "[a, b]" and dicts "{'k': v}".
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(Quote(x))
	case int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case float64:
		b.WriteString(Float(x))
	case float32:
		b.WriteString(Float(float64(x)))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case *jsonvalue.Object:
		b.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Quote(k))
			b.WriteString(": ")
			writeRepr(b, x.Value(k))
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Quote(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		writeReflect(b, v)
	}
}

// writeReflect handles typed slices and maps ([]string, map[string]string, ...) and anything
// else a caller may hand over; values that are not JSON-like fall back to fmt's %v.
func writeReflect(b *strings.Builder, v any) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, rv.Index(i).Interface())
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool {
			return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface())
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k.Interface())
			b.WriteString(": ")
			writeRepr(b, rv.MapIndex(k).Interface())
		}
		b.WriteByte('}')
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			b.WriteString("None")
			return
		}
		writeRepr(b, rv.Elem().Interface())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
	case reflect.String:
		b.WriteString(Quote(rv.String()))
	case reflect.Bool:
		writeRepr(b, rv.Bool())
	case reflect.Float32, reflect.Float64:
		b.WriteString(Float(rv.Float()))
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// Float returns Python's repr of a float: the shortest digits that round-trip, in positional
// notation with at least one decimal ("1.0", "0.1", "1234.5") when the decimal exponent is in
// [-4, 16), scientific otherwise ("1e+16", "1.5e-05"); "inf", "-inf" and "nan" for the specials.
func Float(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	// Shortest round-trip digits in scientific form: [-]d[.ddd]e±XX.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	neg := strings.HasPrefix(e, "-")
	if neg {
		e = e[1:]
	}
	ei := strings.IndexByte(e, 'e')
	mant, exp := e[:ei], e[ei+1:]
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1 // position of the decimal point after the first digit, as CPython counts it
	var out string
	if decpt <= -4 || decpt > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		sign := "+"
		if x < 0 {
			sign = "-"
			x = -x
		}
		out = fmt.Sprintf("%se%s%02d", m, sign, x)
	} else if decpt <= 0 {
		out = "0." + strings.Repeat("0", -decpt) + digits
	} else if decpt >= len(digits) {
		out = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	} else {
		out = digits[:decpt] + "." + digits[decpt:]
	}
	if neg {
		return "-" + out
	}
	return out
}

// Quote returns Python's repr of a str: single quotes unless the string holds a single quote and
// no double quote; backslash, the quote, \t, \n and \r escaped; other control characters and
// non-printable characters as \xHH, \uHHHH or \UHHHHHHHH; printable non-ASCII kept as is.
func Quote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Not valid UTF-8: Python strings cannot hold such a byte; show it as \x escaped
			// surrogate-escape would (\udcXX).
			fmt.Fprintf(&b, "\\udc%02x", s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case isPrintable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// isPrintable approximates Python's str.isprintable for one character: not in the categories
// Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (space excepted). Go's unicode.IsPrint has the same definition.
func isPrintable(r rune) bool {
	return unicode.IsPrint(r)
}

// Truthy reports whether a JSON value is true in Python: not None, False, 0, "", [] or {}.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case *jsonvalue.Object:
		return x.Len() > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// Seconds is d as the number of seconds Chaos Toolkit arguments take: an integer (int64) when
// it is whole, else a float.
func Seconds(d time.Duration) any {
	if d%time.Second == 0 {
		return int64(d / time.Second)
	}
	return d.Seconds()
}
