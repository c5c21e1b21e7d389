package jsonpath2_test

import (
	"fmt"

	"github.com/chaostest/chaostest/internal/jsonpath2"
	"github.com/chaostest/chaostest/jsonvalue"
)

func ExamplePath_Find() {
	doc, _ := jsonvalue.Decode([]byte(`{"items": [{"name": "a", "ready": true}, {"name": "b", "ready": false}]}`))
	// jsonpath2 filters the value they subscript: [*] first to filter the elements.
	p := jsonpath2.MustCompile(`$.items[*][?(@.name = "a")].ready`)
	fmt.Println(p.Find(doc))
	fmt.Println(jsonpath2.MustCompile(`$.items[?(@.name = "a")]`).Find(doc))
	// Output:
	// [true]
	// []
}
