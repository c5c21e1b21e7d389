package incluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/chaostest/chaostest/internal/cluster"
)

// LocalImageRepo is the repository of the image LoadLocal imports into the local node; its tag
// is a hash of the executables, so an unchanged chaostest is not imported twice.
const LocalImageRepo = "chaostest.local/chaostest"

// Helpers are the executables that the chaostest CLI starts on demand and that the image
// therefore carries when they sit next to the CLI.
var Helpers = []string{"chaostest-k8s"}

// Binaries returns the executables of the in-cluster image: self (the running chaostest) and
// each of Helpers found in its directory. Each must be a static linux/amd64 executable.
func Binaries(self string) ([]string, error) {
	bins := []string{self}
	for _, h := range Helpers {
		p := filepath.Join(filepath.Dir(self), h)
		if _, err := os.Stat(p); err == nil {
			bins = append(bins, p)
		}
	}
	for _, b := range bins {
		if err := cluster.StaticLinuxAMD64(b); err != nil {
			return nil, err
		}
	}
	return bins, nil
}

// ImageTag returns the content hash of the executables (12 hex digits), the tag of their
// image.
func ImageTag(bins []string) (string, error) {
	h := sha256.New()
	for _, b := range bins {
		f, err := os.Open(b)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", filepath.Base(b))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// LoadLocal makes the image of bins available on the local cluster's node (the path the agent's
// image takes: cluster.ImportImage) and returns its reference. When the node already holds the
// image of these exact executables nothing is built or imported (cached is true).
func LoadLocal(ctx context.Context, c cluster.Config, bins []string) (ref string, cached bool, err error) {
	tag, err := ImageTag(bins)
	if err != nil {
		return "", false, err
	}
	ref, err = cluster.NormalizeRef(LocalImageRepo + ":" + tag)
	if err != nil {
		return "", false, err
	}
	if have, err := cluster.NodeImages(ctx, c); err == nil && slices.Contains(have, ref) {
		return ref, true, nil
	}
	img, err := cluster.BinariesImage(bins...)
	if err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp("", "chaostest-incluster-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	tarPath := filepath.Join(tmp, "image.tar")
	if err := cluster.WriteImageTarball(img, ref, tarPath); err != nil {
		return "", false, err
	}
	if err := cluster.ImportImage(ctx, c, tarPath); err != nil {
		return "", false, err
	}
	return ref, false, nil
}

// SaveImage writes the image of bins as a docker-archive tarball tagged ref, for a cluster
// whose nodes load images from files (e.g. `kind load image-archive`).
func SaveImage(bins []string, ref, out string) error {
	img, err := cluster.BinariesImage(bins...)
	if err != nil {
		return err
	}
	return cluster.WriteImageTarball(img, ref, out)
}

// PushImage pushes the image of bins to ref in a registry, with the credentials of the
// docker configuration (~/.docker/config.json, DOCKER_CONFIG) when it has some for that
// registry. insecure allows plain HTTP (a registry on loopback).
func PushImage(ctx context.Context, bins []string, ref string, insecure bool) (string, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	tag, err := name.NewTag(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	img, err := cluster.BinariesImage(bins...)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return tag.Context().Digest(d.String()).String(), nil
}
