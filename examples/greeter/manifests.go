package greeter

import (
	"embed"
	"fmt"
	"path"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

//go:embed manifests/*.yaml
var manifestFS embed.FS

// Manifest is one YAML file of the example's manifests (several documents).
type Manifest struct {
	// Path is the file's path relative to this package's directory, e.g. "manifests/app.yaml".
	Path string
	// YAML is the file's content.
	YAML []byte
}

// Label selectors of the example's pods, as the chapter's experiment uses them.
const (
	WebappSelector  = "app=webapp-pod"
	GreeterSelector = "app=greeter-pod"
	NameSelector    = "app=name-pod"
)

// Namespace-free object names the manifests create.
const (
	WebappDeployment  = "webapp-deployment"
	GreeterDeployment = "greeter-deployment"
	NameDeployment    = "name-deployment"
	WebappService     = service.WebappServiceName
	GreeterService    = service.GreeterServiceName
	NameService       = service.NameServiceName
)

// ManifestPaths returns, in the order they must be applied, the manifest files deploying the
// example with webapp in the given mode: manifests/app.yaml (the three Services, then the greeter
// and name Deployments) and manifests/webapp-<mode>.yaml. The Services come first so that
// Kubernetes injects their addresses into the pods, which is how webapp finds its peers.
func ManifestPaths(mode service.Mode) ([]string, error) {
	switch mode {
	case service.Fragile, service.Resilient:
	default:
		return nil, fmt.Errorf("greeter manifests: want mode %q or %q, got %q", service.Fragile, service.Resilient, mode)
	}
	return []string{"manifests/app.yaml", path.Join("manifests", "webapp-"+string(mode)+".yaml")}, nil
}

// Manifests returns the files ManifestPaths names, with their content (embedded in the binary,
// so callers need not know where the source tree is).
func Manifests(mode service.Mode) ([]Manifest, error) {
	paths, err := ManifestPaths(mode)
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(paths))
	for _, p := range paths {
		b, err := manifestFS.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("greeter manifests: %w", err)
		}
		out = append(out, Manifest{Path: p, YAML: b})
	}
	return out, nil
}
