// Command greeter answers GET /?greet=... with a greeting ("Hello" by default). Its readiness
// (/healthz/ready) is delayed by READY_AFTER, as a service warming up would be; /whoami reports
// POD_IP:PORT. See examples/greeter/README.md.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

func main() {
	os.Exit(service.Main("greeter", func(getenv func(string) string, logger *log.Logger) (http.Handler, error) {
		cfg, err := service.GreeterConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		cfg.Logger = logger
		logger.Printf("greeting %q, ready after %s, pod IP %q", cfg.Greeting, cfg.ReadyAfter, cfg.PodIP)
		return service.NewGreeter(cfg), nil
	}))
}
