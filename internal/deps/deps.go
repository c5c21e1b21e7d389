//go:build tools

// Package deps pins the module's dependencies while the packages that use them are written.
package deps

import (
	_ "github.com/gkampitakis/go-snaps/snaps"
	_ "github.com/google/go-containerregistry/pkg/v1/tarball"
	_ "github.com/stretchr/testify/require"
	_ "gopkg.in/yaml.v3"
	_ "k8s.io/client-go/dynamic"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "sigs.k8s.io/e2e-framework/pkg/env"
	_ "sigs.k8s.io/yaml"
)
