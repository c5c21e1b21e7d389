// Package gojson converts Go values into the JSON value conventions of jsonvalue.Object: maps
// become *jsonvalue.Object with sorted keys, integers int64, slices []any, durations seconds. The
// activity builders (package chaostest) and the engine's control specs share it.
package gojson

import (
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/chaostest/chaostest/jsonvalue"
)

// Duration writes d in seconds, as an integer when it is whole.
func Duration(d time.Duration) any {
	if d%time.Second == 0 {
		return int64(d / time.Second)
	}
	return d.Seconds()
}

// Number writes f as an int64 when it is whole.
func Number(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

// Object turns a Go map into an ordered object with sorted keys (Go maps have no order).
func Object(m map[string]any) *jsonvalue.Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := &jsonvalue.Object{}
	for _, k := range keys {
		o.Set(k, Value(m[k]))
	}
	return o
}

// Value converts a Go value into the JSON value conventions of jsonvalue.Object.
func Value(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, *jsonvalue.Object:
		return v
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return int64(x)
	case float32:
		return float64(x)
	case time.Duration:
		return Duration(x)
	case map[string]any:
		return Object(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Value(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range rv.MapKeys() {
			m[fmt.Sprint(k.Interface())] = rv.MapIndex(k).Interface()
		}
		return Object(m)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.String:
		return rv.String()
	}
	return v
}
