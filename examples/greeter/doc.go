// Package greeter is the example the chaos-engineering chapter is reproduced on: three small
// HTTP services (webapp, greeter, name; their code is in the service sub-package and their main
// packages under cmd/), the Kubernetes manifests that deploy them, and the list of images to
// build from them. See README.md beside this file.
package greeter
