package jsonvalue_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func TestDecodeKeepsOrderAndIntegers(t *testing.T) {
	v, err := jsonvalue.Decode([]byte(`{"z": 1, "a": [2.5, {"y": null, "b": true}], "m": 9007199254740993}`))
	require.NoError(t, err)
	o := v.(*jsonvalue.Object)
	assert.Equal(t, []string{"z", "a", "m"}, o.Keys())
	assert.Equal(t, int64(1), o.Value("z"))
	assert.Equal(t, int64(9007199254740993), o.Value("m"), "an integer beyond float64's precision stays exact")
	inner := o.Value("a").([]any)
	assert.Equal(t, 2.5, inner[0])
	assert.Equal(t, []string{"y", "b"}, inner[1].(*jsonvalue.Object).Keys())
	out, err := jsonvalue.Marshal(o)
	require.NoError(t, err)
	assert.Equal(t, `{"z":1,"a":[2.5,{"y":null,"b":true}],"m":9007199254740993}`, string(out))
}

func TestObjectSetDeleteClone(t *testing.T) {
	o := jsonvalue.NewObject("a", 1, "b", jsonvalue.NewObject("c", []any{"x"}))
	o.Set("a", 2) // an existing key keeps its place
	o.Set("d", nil)
	assert.Equal(t, []string{"a", "b", "d"}, o.Keys())
	c := o.Clone()
	c.Value("b").(*jsonvalue.Object).Value("c").([]any)[0] = "changed"
	c.Delete("a")
	assert.Equal(t, "x", o.Value("b").(*jsonvalue.Object).Value("c").([]any)[0], "Clone is deep")
	assert.Equal(t, []string{"a", "b", "d"}, o.Keys())
	assert.Equal(t, []string{"b", "d"}, c.Keys())
	assert.Equal(t, map[string]any{"a": 2, "b": map[string]any{"c": []any{"x"}}, "d": nil}, o.Map())
	var nilObj *jsonvalue.Object
	assert.Zero(t, nilObj.Len())
	assert.False(t, nilObj.Has("a"))
	assert.Panics(t, func() { jsonvalue.NewObject("odd") })
}

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	out, err := jsonvalue.Marshal(jsonvalue.NewObject("q", "a<b>&c"))
	require.NoError(t, err)
	assert.Equal(t, `{"q":"a<b>&c"}`, string(out))
}

func TestUnmarshalJSONWantsAnObject(t *testing.T) {
	var o jsonvalue.Object
	require.EqualError(t, o.UnmarshalJSON([]byte(`[1]`)), "jsonvalue: expected a JSON object, got array")
	require.NoError(t, o.UnmarshalJSON([]byte(`{"k": "v"}`)))
	assert.Equal(t, "v", o.Value("k"))
}

func TestDecodeDepthLimit(t *testing.T) {
	ok := strings.Repeat("[", jsonvalue.MaxDepth) + strings.Repeat("]", jsonvalue.MaxDepth)
	_, err := jsonvalue.Decode([]byte(ok))
	require.NoError(t, err)
	_, err = jsonvalue.Decode([]byte("[" + ok + "]"))
	require.EqualError(t, err, "line 1, column 1001: arrays and objects nest deeper than 1000 levels (the nesting limit)")
	var se *jsonvalue.SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1001, se.Column)
	_, err = jsonvalue.Decode([]byte("{\"a\": 1}\n  x"))
	require.EqualError(t, err, "line 2, column 3: invalid character 'x' after top-level value")
}

func TestDecodeLimited(t *testing.T) {
	_, err := jsonvalue.DecodeLimited([]byte(`[1, 2, 3]`), 4)
	require.NoError(t, err)
	_, err = jsonvalue.DecodeLimited([]byte(`[1, 2, 3, 4]`), 4)
	var se *jsonvalue.SyntaxError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Contains(t, se.Msg, "more than 4 (the value limit)")
}

func ExampleObject() {
	o := jsonvalue.NewObject("type", "probe", "name", "responds")
	o.Set("provider", jsonvalue.NewObject("type", "http", "url", "http://127.0.0.1:8080/"))
	o.Set("name", "front-responds") // keeps its place
	out, _ := jsonvalue.Marshal(o)
	fmt.Println(string(out))
	// Output: {"type":"probe","name":"front-responds","provider":{"type":"http","url":"http://127.0.0.1:8080/"}}
}

func ExampleDecode() {
	v, err := jsonvalue.Decode([]byte(`{"status": 200, "elapsed": 0.25}`))
	if err != nil {
		panic(err)
	}
	o := v.(*jsonvalue.Object)
	fmt.Printf("%v %T, %v %T, %s\n", o.Value("status"), o.Value("status"), o.Value("elapsed"), o.Value("elapsed"), jsonvalue.TypeName(o))
	// Output: 200 int64, 0.25 float64, object
}
