package pyyaml_test

import (
	"fmt"

	"github.com/chaostest/chaostest/internal/pyyaml"
	"github.com/chaostest/chaostest/jsonvalue"
)

func ExampleDecode() {
	v, err := pyyaml.Decode([]byte("enabled: on\nmode: 010\nratio: 1e3\nsize: 1_000\nyes: 1.0e+3\n"))
	if err != nil {
		panic(err)
	}
	o := v.(*jsonvalue.Object)
	for _, k := range o.Keys() {
		fmt.Printf("%s: %#v\n", k, o.Value(k))
	}
	// Output:
	// enabled: true
	// mode: 8
	// ratio: "1e3"
	// size: 1000
	// true: 1000
}
