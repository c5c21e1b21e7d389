package service

import (
	"fmt"
	"net"
	"strings"
)

// The Kubernetes Service names the example's manifests create. Kubernetes injects
// <NAME>_SERVICE_HOST and <NAME>_SERVICE_PORT into every pod created after a Service, with NAME
// the Service name in upper case and dashes turned into underscores (see ServiceEnvPrefix):
// greeter-service gives GREETER_SERVICE_SERVICE_HOST.
const (
	WebappServiceName  = "webapp-service"
	GreeterServiceName = "greeter-service"
	NameServiceName    = "name-service"
)

// Peer says how webapp finds one of its peers.
type Peer struct {
	// URLVar names the variable holding an explicit base URL, e.g. GREETER_URL. It wins over
	// everything else (tests, or a cluster with DNS).
	URLVar string
	// Services are Service names whose injected variables are tried in order.
	Services []string
}

// GreeterPeer is how webapp finds greeter: GREETER_URL, else the variables Kubernetes injects
// for the Service greeter-service (GREETER_SERVICE_SERVICE_HOST/_PORT), else those of a Service
// named greeter (GREETER_SERVICE_HOST/_PORT, also the variables the original Node.js webapp read).
var GreeterPeer = Peer{URLVar: "GREETER_URL", Services: []string{GreeterServiceName, "greeter"}}

// NamePeer is how webapp finds name: NAME_URL, else NAME_SERVICE_SERVICE_HOST/_PORT (Service
// name-service), else NAME_SERVICE_HOST/_PORT (Service name).
var NamePeer = Peer{URLVar: "NAME_URL", Services: []string{NameServiceName, "name"}}

// ServiceEnvPrefix returns the prefix of the variables Kubernetes injects for a Service named
// service: upper case, dashes turned into underscores ("greeter-service" → "GREETER_SERVICE").
// The variables are prefix+"_SERVICE_HOST" and prefix+"_SERVICE_PORT".
func ServiceEnvPrefix(service string) string {
	return strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
}

// ServiceEnv returns the variables Kubernetes injects for a Service with the given cluster IP
// and first port, as a map; tests use it to play the kubelet.
func ServiceEnv(service, clusterIP string, port int) map[string]string {
	p := ServiceEnvPrefix(service)
	return map[string]string{
		p + "_SERVICE_HOST": clusterIP,
		p + "_SERVICE_PORT": fmt.Sprint(port),
	}
}

// Discover returns the peer's base URL (scheme, host and port, no trailing slash) from the
// variables read through getenv, trying p.URLVar first and then each Service's injected
// host and port. The error names every variable it looked at.
func (p Peer) Discover(getenv func(string) string) (string, error) {
	if u := strings.TrimRight(getenv(p.URLVar), "/"); u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return "", fmt.Errorf("%s: want an http:// or https:// URL, got %q", p.URLVar, u)
		}
		return u, nil
	}
	tried := []string{p.URLVar}
	for _, svc := range p.Services {
		pre := ServiceEnvPrefix(svc)
		hostVar, portVar := pre+"_SERVICE_HOST", pre+"_SERVICE_PORT"
		host, port := getenv(hostVar), getenv(portVar)
		if host == "" {
			tried = append(tried, hostVar)
			continue
		}
		if port == "" {
			return "", fmt.Errorf("%s is %q but %s is empty; want both", hostVar, host, portVar)
		}
		if _, err := ListenAddr(port); err != nil {
			return "", fmt.Errorf("%s: want a port number, got %q", portVar, port)
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	return "", fmt.Errorf("no address for the peer: set %s (the Service must exist before the pod for Kubernetes to inject its variables)",
		strings.Join(tried, " or "))
}
