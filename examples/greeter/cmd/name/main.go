// Command name answers GET /?id=N with the N-th person's name ("Sheldon" for id 1). See
// examples/greeter/README.md.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

func main() {
	os.Exit(service.Main("name", func(_ func(string) string, logger *log.Logger) (http.Handler, error) {
		return service.NewName(service.NameConfig{Logger: logger}), nil
	}))
}
