package greeter

// ModulePath is the import path of this package.
const ModulePath = "github.com/chaostest/chaostest/examples/greeter"

// Image is a container image built from one of the example's Go main packages: a static binary
// (CGO_ENABLED=0) alone in an image with no base layer, at Entrypoint, which the manifests run
// as the container's command.
type Image struct {
	// Name is the service: "webapp", "greeter" or "name".
	Name string
	// Package is the import path of the main package to build.
	Package string
	// Ref is the image reference the manifests use (with imagePullPolicy: Never, so the image
	// must be loaded into the node's container runtime under exactly this name).
	Ref string
	// Entrypoint is the path of the binary in the image, e.g. "/webapp".
	Entrypoint string
}

// Images returns the example's three images, webapp first.
func Images() []Image {
	mk := func(name string) Image {
		return Image{
			Name:       name,
			Package:    ModulePath + "/cmd/" + name,
			Ref:        "chaostest.local/greeter-" + name + ":dev",
			Entrypoint: "/" + name,
		}
	}
	return []Image{mk("webapp"), mk("greeter"), mk("name")}
}
