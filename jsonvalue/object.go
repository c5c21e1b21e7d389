package jsonvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Object is a JSON object that keeps its keys in insertion order, so a journal written by
// chaostest lists keys in the order Chaos Toolkit writes them and a copy of an experiment keeps
// the order (and the unknown keys) of the file it came from.
//
// Values are the ones encoding/json produces for `any`, except that objects are *Object and
// numbers are int64 when they are integers in the source text and float64 otherwise.
// The zero value is an empty object ready to use.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an object holding the given key/value pairs in order:
// NewObject("a", 1, "b", true). It panics if kv has an odd length or a key is not a string.
func NewObject(kv ...any) *Object {
	if len(kv)%2 != 0 {
		panic("jsonvalue.NewObject: odd number of arguments")
	}
	o := &Object{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			panic(fmt.Sprintf("jsonvalue.NewObject: key %v is not a string", kv[i]))
		}
		o.Set(k, kv[i+1])
	}
	return o
}

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in order. The slice must not be modified.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// Get returns the value stored under key and whether the key is present.
func (o *Object) Get(key string) (any, bool) {
	if o == nil || o.vals == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Value returns the value stored under key, or nil when it is absent.
func (o *Object) Value(key string) any {
	v, _ := o.Get(key)
	return v
}

// Has reports whether key is present.
func (o *Object) Has(key string) bool {
	_, ok := o.Get(key)
	return ok
}

// Set stores value under key. A new key goes last; an existing key keeps its place.
func (o *Object) Set(key string, value any) {
	if o.vals == nil {
		o.vals = make(map[string]any)
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = value
}

// Delete removes key if present.
func (o *Object) Delete(key string) {
	if o == nil || o.vals == nil {
		return
	}
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// Clone returns a deep copy of o: nested objects and slices are copied too.
func (o *Object) Clone() *Object {
	if o == nil {
		return nil
	}
	c := &Object{keys: append([]string(nil), o.keys...), vals: make(map[string]any, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = Clone(v)
	}
	return c
}

// Clone returns a deep copy of a JSON value made of *Object, []any, map[string]any and scalars.
func Clone(v any) any {
	switch x := v.(type) {
	case *Object:
		return x.Clone()
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = Clone(e)
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = Clone(e)
		}
		return c
	default:
		return v
	}
}

// Map returns the object as a plain map (nested objects converted too), for code that does not
// care about order.
func (o *Object) Map() map[string]any {
	if o == nil {
		return nil
	}
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = Plain(o.vals[k])
	}
	return m
}

// Plain converts *Object values (at any depth) into map[string]any.
func Plain(v any) any {
	switch x := v.(type) {
	case *Object:
		return x.Map()
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = Plain(e)
		}
		return c
	default:
		return v
	}
}

// MarshalJSON writes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := Marshal(o.vals[k])
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Marshal is json.Marshal without HTML escaping, so "<" stays "<" as Python writes it; an
// *Object inside v keeps its key order.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// UnmarshalJSON reads a JSON object, keeping key order. Integers become int64, other numbers
// float64, nested objects *Object. Nesting deeper than MaxDepth is an error.
func (o *Object) UnmarshalJSON(data []byte) error {
	v, err := Decode(data)
	if err != nil {
		return err
	}
	obj, ok := v.(*Object)
	if !ok {
		return fmt.Errorf("jsonvalue: expected a JSON object, got %s", TypeName(v))
	}
	*o = *obj
	return nil
}

// Decode parses one JSON value with the conventions of Object: ordered objects, int64
// integers, float64 other numbers. Arrays and objects may nest MaxDepth levels deep. A syntax
// error, or nesting past MaxDepth, is a *SyntaxError naming the line and column.
func Decode(data []byte) (any, error) {
	return DecodeLimited(data, 0)
}

// DecodeLimited is Decode that also refuses a value made of more than maxValues values
// (arrays, objects and scalars; 0 means no limit), so a file of millions of tiny values is
// refused early instead of taking seconds and hundreds of megabytes.
func DecodeLimited(data []byte, maxValues int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	d := &decoder{dec: dec, left: maxValues, max: maxValues}
	v, err := d.value(0)
	if err != nil {
		return nil, syntaxError(data, dec, err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, positioned(data, dec.InputOffset(), "unexpected data after the JSON value")
	} else if err != io.EOF {
		return nil, syntaxError(data, dec, err)
	}
	return v, nil
}

// decoder reads JSON values with the depth limit and, when limited, a budget of values.
type decoder struct {
	dec       *json.Decoder
	left, max int
}

// value reads one value; depth is the number of arrays and objects it is inside.
func (d *decoder) value(depth int) (any, error) {
	dec := d.dec
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d.max > 0 {
		if d.left--; d.left < 0 {
			return nil, fmt.Errorf("%w: more than %d (the value limit)", errTooMany, d.max)
		}
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return nil, errTooDeep
		}
		switch t {
		case '{':
			o := &Object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %v, not a string", kt)
				}
				v, err := d.value(depth + 1)
				if err != nil {
					return nil, err
				}
				o.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := d.value(depth + 1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return parseNumber(string(t))
	default:
		return t, nil
	}
}

func parseNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("jsonvalue: bad number %q: %w", s, err)
	}
	return f, nil
}

// TypeName names the JSON type of a value as a person reads it: "object", "array", "string",
// "integer", "number", "boolean" or "null".
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case *Object, map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case int, int64, int32, uint, uint64:
		return "integer"
	case float64, float32:
		return "number"
	case bool:
		return "boolean"
	default:
		return fmt.Sprintf("%T", v)
	}
}
