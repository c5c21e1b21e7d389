// Command webapp answers GET / with "<greeting> <name>", asking the greeter and name services,
// in fragile or resilient mode (WEBAPP_MODE). It finds its peers through GREETER_URL / NAME_URL
// or the variables Kubernetes injects for the Services greeter-service and name-service. See
// examples/greeter/README.md.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

func main() {
	os.Exit(service.Main("webapp", func(getenv func(string) string, logger *log.Logger) (http.Handler, error) {
		cfg, err := service.WebappConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		cfg.Logger = logger
		logger.Printf("mode %s, greeter %s, name %s, endpoint cache %t, timeout %s (resilient only), breaker %d failures / %s",
			cfg.Mode, cfg.GreeterURL, cfg.NameURL, cfg.EndpointCache, cfg.Timeout, cfg.BreakerFailures, cfg.BreakerCooldown)
		return service.NewWebapp(cfg)
	}))
}
